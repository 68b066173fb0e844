"""Live practice in the browser: GET /practice (the page) and the WebSocket it talks to.

The page sends downscaled JPEG frames from the browser's own camera; the server runs the same
live session as the desktop overlay on each and answers with a small JSON message that the page
draws over the video. Frames and results exist only in memory for the length of the connection:
nothing is stored.

Protocol on ``/v1/practice/ws``: the first message is text ``{"type": "hello", "key": "<api
key>"}``; the server answers ``{"type": "ready"}`` or closes with code 4401. After that each
binary message is one JPEG frame, answered by one ``{"type": "frame", ...}`` text message
(the page keeps at most two frames in flight, so it never builds a backlog).
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources
from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from analyzer.config import AnalyzerConfig
from analyzer.live.session import LiveFrame, LiveSession
from analyzer.models import model_paths
from analyzer.types import Frame, SourceKind, VideoInfo
from api.deps import AppState
from api.keys import owner_of

router = APIRouter(tags=["practice"])

MAX_SIDE_PX = 960  # frames larger than this are refused (the page sends about 480 wide)
_active = 0
_lock = asyncio.Lock()


@router.get("/practice", response_class=HTMLResponse, summary="The live practice page")
def practice_page() -> HTMLResponse:
    html = resources.files("api").joinpath("static/practice.html").read_text(encoding="utf-8")
    return HTMLResponse(html)


def to_message(live: LiveFrame, width: int, height: int) -> dict[str, Any]:
    """A small JSON message: positions as fractions of the frame, numbers rounded."""

    def norm(xy: Any) -> list[float]:
        return [round(float(xy[0]) / width, 4), round(float(xy[1]) / height, 4)]

    people = []
    for p in live.people:
        outline = None
        if p.face_outline_xy is not None:
            outline = [norm(pt) for pt in p.face_outline_xy]
        people.append(
            {
                "outline": outline,
                "eyes": None if p.eyes_xy is None else norm(p.eyes_xy),
                "face_width": None
                if p.face_width_px is None
                else round(p.face_width_px / width, 4),
                "gaze": None
                if p.gaze_yaw_deg is None or p.gaze_pitch_deg is None
                else [round(p.gaze_yaw_deg, 1), round(p.gaze_pitch_deg, 1)],
                "contact": p.eye_contact,
                "eyes_closed": p.eyes_closed,
                "share": None if p.contact_share is None else round(p.contact_share, 3),
                "streak_s": round(p.streak_s, 1),
                "away_s": round(p.away_s, 1),
                "arms_crossed": p.arms_crossed,
                "expressiveness": None if p.expressiveness is None else round(p.expressiveness, 2),
                "cues": list(p.cues),
            }
        )
    return {
        "type": "frame",
        "t": round(live.time_s, 3),
        "fps": round(live.fps, 1),
        "latency_ms": round(live.latency_ms, 1),
        "people": people,
    }


@router.websocket("/v1/practice/ws")
async def practice_socket(ws: WebSocket) -> None:
    global _active
    state: AppState = ws.app.state.presence
    await ws.accept()
    try:
        hello = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=10))
    except (TimeoutError, ValueError, WebSocketDisconnect, KeyError):
        await ws.close(code=4400, reason="expected a hello message")
        return
    key = hello.get("key") if isinstance(hello, dict) else None
    if not isinstance(key, str) or owner_of(state.engine, key) is None:
        await ws.close(code=4401, reason="unknown or revoked API key")
        return
    async with _lock:
        if _active >= state.settings.live_sessions:
            await ws.close(code=1013, reason="too many practice sessions; try again soon")
            return
        _active += 1
    session: _Practice | None = None
    try:
        session = await run_in_threadpool(_Practice, state)
        await ws.send_text(json.dumps({"type": "ready"}))
        while True:
            data = await ws.receive_bytes()
            message = await run_in_threadpool(session.frame, data)
            await ws.send_text(json.dumps(message))
    except WebSocketDisconnect:
        pass
    finally:
        if session is not None:
            await run_in_threadpool(session.close)
        async with _lock:
            _active -= 1


class _Practice:
    """One browser's live session (models loaded per connection, closed with it)."""

    def __init__(self, state: AppState) -> None:
        self.models = model_paths(state.settings.models_dir, state.settings.cache_dir)
        self.cfg = AnalyzerConfig()
        self.size: tuple[int, int] | None = None
        self.session: LiveSession | None = None
        self.start = time.monotonic()
        self.last_ms = -1
        self.index = 0

    def _open(self, width: int, height: int) -> LiveSession:
        self.close()
        info = VideoInfo(
            name="browser camera",
            kind=SourceKind.CAMERA,
            width=width,
            height=height,
            fps=None,
            duration_s=None,
        )
        self.size = (width, height)
        self.session = LiveSession(self.models, self.cfg, info).open()
        return self.session

    def frame(self, jpeg: bytes) -> dict[str, Any]:
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            return {"type": "error", "detail": "could not decode the frame as an image"}
        h, w = bgr.shape[:2]
        if max(h, w) > MAX_SIDE_PX:
            return {
                "type": "error",
                "detail": f"frame too large ({w}x{h}); send at most "
                f"{MAX_SIDE_PX} px on the long side",
            }
        session = self.session if self.size == (w, h) and self.session else self._open(w, h)
        ts = max(int((time.monotonic() - self.start) * 1000), self.last_ms + 1)
        self.last_ms = ts
        self.index += 1
        live = session.process(Frame(self.index, ts, np.ascontiguousarray(bgr[:, :, ::-1])))
        return to_message(live, w, h)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
