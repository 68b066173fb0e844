"""Live practice in the browser: GET /practice (the page) and the WebSocket it talks to.

The page sends downscaled JPEG frames from the browser's own camera; the server runs the same
live session as the desktop overlay on each and answers with a small JSON message that the page
draws over the video. Frames and results exist only in memory for the length of the connection:
nothing is stored.

Protocol on ``/v1/practice/ws``: the first message is text ``{"type": "hello", "key": "<api
key>"}`` (with ``"calibration": {…}``, a saved eye-contact calibration, to practise with it);
the server answers ``{"type": "ready"}``. After that each binary message is one JPEG frame (at
most 960 px on the long side), answered by one ``{"type": "frame", ...}`` text message (the page
keeps at most two frames in flight, so it never builds a backlog). The text message
``{"type": "calibrate"}`` starts the 10 s calibration (``analyzer.calibration``): the answers
carry ``"prompt"`` while it runs, and the one that ends it ``"calibration"`` (to keep and send
with a later hello, or to save for ``presence analyze --calibration``) with
``"calibration_advice"`` (a sentence, or null), or ``"calibration_error"`` (one line; the
earlier calibration stays). A ``calibrate`` while one runs, or within 10 s of the last, is
ignored.

Every way a socket ends has a close code and a one-line reason:

======  ==================================================================================
4400    no hello (or not one) within 10 s, or a hello with a bad calibration
4401    unknown or revoked key at hello
1013    too many practice sessions or connections; try again soon
1003    a text message where a frame was expected (but ``calibrate``), or a frame not a JPEG
1007    a JPEG that cannot be read, or a picture under 16 px a side
1009    a message over ``ws_max_message_kb`` (uvicorn) or a picture over 960 px a side
1008    the key was revoked while the socket was open (checked every ``ws_key_check_s``)
4408    no message for ``ws_idle_timeout_s``
1011    an internal error (the server log has it)
======  ==================================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import MutableMapping
from importlib import resources
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.websockets import WebSocketState

from analyzer import calibration
from analyzer.calibration import Calibration, CalibrationError
from analyzer.errors import AnalyzerError
from analyzer.models import ModelPaths, model_paths
from api.deps import AppState
from api.keys import owner_of
from api.practice_session import (
    BAD_HELLO,
    IDLE,
    INTERNAL_ERROR,
    POLICY_VIOLATION,
    TRY_AGAIN_LATER,
    UNKNOWN_KEY,
    UNSUPPORTED_DATA,
    FrameRefusedError,
    PracticeSession,
)
from api.reasons import client_reason

router = APIRouter(tags=["practice"])
log = logging.getLogger("presence.practice")

HELLO_TIMEOUT_S = 10.0
MAX_REASON_BYTES = 123  # a close frame's reason (RFC 6455)


class SocketClosedError(Exception):
    """The socket was closed with ``code`` and ``reason`` (by us, or by the client)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


@router.get("/practice", response_class=HTMLResponse, summary="The live practice page")
def practice_page() -> HTMLResponse:
    html = resources.files("api").joinpath("static/practice.html").read_text(encoding="utf-8")
    return HTMLResponse(html)


async def close(ws: WebSocket, code: int, reason: str) -> None:
    """Close with ``code`` and a one-line ``reason`` cut to what a close frame holds."""
    text = " ".join(reason.split()).encode("utf-8")[:MAX_REASON_BYTES]
    if (
        ws.application_state == WebSocketState.CONNECTED
        and ws.client_state == WebSocketState.CONNECTED
    ):
        with contextlib.suppress(RuntimeError, OSError):  # the client went away meanwhile
            await ws.close(code=code, reason=text.decode("utf-8", "ignore"))


async def hello_key(ws: WebSocket, state: AppState) -> tuple[str, Calibration | None]:
    """The key from the hello message, if it is valid, and the calibration it brings, if any;
    else the socket is closed."""
    try:
        message = await asyncio.wait_for(ws.receive(), timeout=HELLO_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise SocketClosedError(BAD_HELLO, "expected a hello message") from None
    if message["type"] == "websocket.disconnect":
        raise SocketClosedError(message.get("code", 1000), "the client closed")
    try:
        hello = json.loads(message.get("text") or "")
    except (ValueError, RecursionError):
        hello = None
    key = hello.get("key") if isinstance(hello, dict) else None
    if not isinstance(key, str):
        raise SocketClosedError(BAD_HELLO, 'expected a hello message: {"type": "hello", "key": …}')
    if await run_in_threadpool(owner_of, state.engine, key) is None:
        raise SocketClosedError(UNKNOWN_KEY, "unknown or revoked API key")
    assert isinstance(hello, dict)
    cal = None
    if hello.get("calibration") is not None:
        try:
            cal = calibration.from_dict(hello["calibration"], "hello")
        except CalibrationError as e:
            raise SocketClosedError(BAD_HELLO, str(e)) from None
    return key, cal


def session_models(state: AppState) -> ModelPaths:
    return model_paths(state.settings.models_dir, state.settings.cache_dir)


async def serve_frames(ws: WebSocket, state: AppState, key: str, session: PracticeSession) -> None:
    """Answer frames until the client leaves or something closes the socket."""
    settings = state.settings
    last_message = last_check = time.monotonic()
    tick_s = min(settings.ws_key_check_s, settings.ws_idle_timeout_s, 1.0)
    while True:
        message: MutableMapping[str, Any] | None
        try:
            message = await asyncio.wait_for(ws.receive(), timeout=tick_s)
        except asyncio.TimeoutError:
            message = None
        now = time.monotonic()
        if now - last_check >= settings.ws_key_check_s:
            last_check = now
            if await run_in_threadpool(owner_of, state.engine, key) is None:
                raise SocketClosedError(POLICY_VIOLATION, "the API key was revoked")
        if message is None:
            if now - last_message >= settings.ws_idle_timeout_s:
                raise SocketClosedError(
                    IDLE, f"no frame for {settings.ws_idle_timeout_s:g} s; closed as idle"
                )
            continue
        last_message = now
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is None and _is_calibrate(message.get("text")):
            # the next frames' answers carry its prompts, then its result (ignored while one
            # runs or right after one began)
            await run_in_threadpool(session.calibrate)
            continue
        if data is None:
            raise SocketClosedError(UNSUPPORTED_DATA, "expected binary JPEG frames after ready")
        try:
            answer = await run_in_threadpool(session.frame, data)
        except FrameRefusedError as e:
            raise SocketClosedError(e.code, e.reason) from None
        await ws.send_text(json.dumps(answer))


def _is_calibrate(text: str | None) -> bool:
    if text is None or len(text) > 100:
        return False
    try:
        message = json.loads(text)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "calibrate"


@router.websocket("/v1/practice/ws")
async def practice_socket(ws: WebSocket) -> None:
    state: AppState = ws.app.state.presence
    if state.sockets >= state.settings.max_connections:
        await ws.close(code=TRY_AGAIN_LATER, reason="too many connections; try again soon")
        return
    state.sockets += 1
    session: PracticeSession | None = None
    counted = False
    try:
        await ws.accept()
        key, cal = await hello_key(ws, state)
        if state.sessions >= state.settings.live_sessions:
            raise SocketClosedError(TRY_AGAIN_LATER, "too many practice sessions; try again soon")
        state.sessions += 1
        counted = True
        session = PracticeSession(await run_in_threadpool(session_models, state), cal)
        await ws.send_text(json.dumps({"type": "ready"}))
        await serve_frames(ws, state, key, session)
    except SocketClosedError as e:
        await close(ws, e.code, e.reason)
    except WebSocketDisconnect:
        pass
    except AnalyzerError as e:  # the models cannot be loaded: the server's problem, said plainly
        log.error("practice session: %s", e)
        await close(ws, INTERNAL_ERROR, client_reason(str(e)))
    except Exception:
        log.exception("practice session failed")
        await close(ws, INTERNAL_ERROR, "internal error; the server log has the details")
    finally:
        if session is not None:
            await run_in_threadpool(session.close)
        if counted:
            state.sessions -= 1
        state.sockets -= 1
