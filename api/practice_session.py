"""One browser's live practice session: frames checked from their JPEG header before decoding,
one set of models per session whatever the frames' size, and the small JSON answer per frame.

The session's picture size is its first frame's. A later frame of another size (a phone turned
on its side, a window resized, or a client sending anything) is fitted into that picture with
its shape kept (scaled, with black bars), and positions in the answer are given as fractions of
the frame that was sent. So the models are loaded once per session, never per frame size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from analyzer import calibration
from analyzer.calibration import Calibration, CalibrationError, CalibrationRun
from analyzer.config import AnalyzerConfig
from analyzer.errors import InputError, TooLargeError
from analyzer.limits import MIN_SIDE_PX, image_size
from analyzer.live.session import LiveFrame, LiveSession
from analyzer.models import ModelPaths
from analyzer.types import Frame, SourceKind, VideoInfo

MAX_SIDE_PX = 960  # frames larger than this are refused (the page sends about 480 wide)
JPEG_MAGIC = b"\xff\xd8\xff"

# WebSocket close codes (RFC 6455, and 4xxx mirroring HTTP statuses)
UNSUPPORTED_DATA = 1003  # a text message where a frame was expected, or not a JPEG
INVALID_DATA = 1007  # a JPEG that cannot be read, or a picture too small
POLICY_VIOLATION = 1008  # the key was revoked while the socket was open
TOO_BIG = 1009  # a message or a picture over the limits
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
BAD_HELLO = 4400
UNKNOWN_KEY = 4401
IDLE = 4408


class FrameRefusedError(Exception):
    """A frame the session will not analyze; the socket is closed with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def check_frame(jpeg: bytes) -> tuple[int, int]:
    """(width, height) of a JPEG frame from its header alone, or ``FrameRefusedError``."""
    if not jpeg.startswith(JPEG_MAGIC):
        raise FrameRefusedError(UNSUPPORTED_DATA, "frames must be JPEG images")
    try:
        width, height = image_size(jpeg, "frame")
    except TooLargeError:
        raise FrameRefusedError(
            TOO_BIG, f"frame declares far too many pixels; send at most {MAX_SIDE_PX} px a side"
        ) from None
    except InputError:
        raise FrameRefusedError(INVALID_DATA, "could not read the frame as a JPEG image") from None
    if max(width, height) > MAX_SIDE_PX:
        raise FrameRefusedError(
            TOO_BIG,
            f"frame too large ({width}x{height}); send at most {MAX_SIDE_PX} px on the long side",
        )
    if min(width, height) < MIN_SIDE_PX:
        raise FrameRefusedError(INVALID_DATA, f"frame too small ({width}x{height})")
    return width, height


@dataclass(frozen=True)
class Fit:
    """Where a sent frame sits inside the session's picture (pixels of that picture)."""

    x_px: int
    y_px: int
    width_px: int
    height_px: int

    def norm(self, xy: Any) -> list[float]:
        """A point of the session's picture as fractions of the sent frame."""
        return [
            round((float(xy[0]) - self.x_px) / self.width_px, 4),
            round((float(xy[1]) - self.y_px) / self.height_px, 4),
        ]


def fit_into(bgr: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Fit]:
    """``bgr`` scaled into a ``size`` (width, height) picture with its shape kept."""
    w, h = size
    fh, fw = bgr.shape[:2]
    if (fw, fh) == (w, h):
        return bgr, Fit(0, 0, w, h)
    scale = min(w / fw, h / fh)
    cw, ch = max(1, round(fw * scale)), max(1, round(fh * scale))
    x, y = (w - cw) // 2, (h - ch) // 2
    canvas = np.zeros((h, w, 3), np.uint8)
    canvas[y : y + ch, x : x + cw] = cv2.resize(bgr, (cw, ch), interpolation=cv2.INTER_AREA)
    return canvas, Fit(x, y, cw, ch)


def to_message(live: LiveFrame, fit: Fit) -> dict[str, Any]:
    """A small JSON message: positions as fractions of the sent frame, numbers rounded."""
    people = []
    for p in live.people:
        outline = None
        if p.face_outline_xy is not None:
            outline = [fit.norm(pt) for pt in p.face_outline_xy]
        people.append(
            {
                "outline": outline,
                "eyes": None if p.eyes_xy is None else fit.norm(p.eyes_xy),
                "face_width": None
                if p.face_width_px is None
                else round(p.face_width_px / fit.width_px, 4),
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


class PracticeSession:
    """The models and running numbers of one socket; opened at its first frame, closed with
    it. Frames come one at a time (the socket waits for each answer)."""

    # A calibration can start at most this often (each one reloads the models once).
    CALIBRATE_EVERY_S = 10.0

    def __init__(self, models: ModelPaths, cal: Calibration | None = None) -> None:
        self.models = models
        self.calibration = cal  # the one practised with
        self.cfg = AnalyzerConfig() if cal is None else calibration.apply(AnalyzerConfig(), cal)
        self.calibrating: CalibrationRun | None = None
        self.calibrated_at: float | None = None
        self.size: tuple[int, int] | None = None
        self.live: LiveSession | None = None
        self.start = time.monotonic()
        self.last_ms = -1
        self.index = 0

    def _open(self, width: int, height: int) -> LiveSession:
        info = VideoInfo(
            name="browser camera",
            kind=SourceKind.CAMERA,
            width=width,
            height=height,
            fps=None,
            duration_s=None,
        )
        self.size = (width, height)
        self.live = LiveSession(self.models, self.cfg, info).open()
        return self.live

    def frame(self, jpeg: bytes) -> dict[str, Any]:
        """The answer to one JPEG frame; ``FrameRefusedError`` for one it will not analyze."""
        width, height = check_frame(jpeg)  # from the header: nothing decoded yet
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape[1] * bgr.shape[0] != width * height:
            raise FrameRefusedError(INVALID_DATA, "could not decode the frame as a JPEG image")
        live = self.live if self.live is not None else self._open(width, height)
        assert self.size is not None
        picture, fit = fit_into(bgr, self.size)
        ts = max(int((time.monotonic() - self.start) * 1000), self.last_ms + 1)
        self.last_ms = ts
        self.index += 1
        result = live.process(Frame(self.index, ts, np.ascontiguousarray(picture[:, :, ::-1])))
        message = to_message(result, fit)
        if self.calibrating is not None:
            message.update(self._calibration_step(result))
        return message

    def calibrate(self) -> bool:
        """Start the 10 s calibration: measured without any earlier one, and the practice
        numbers start afresh once it is done. False (ignored): one is running, or one began
        less than ``CALIBRATE_EVERY_S`` ago."""
        now = time.monotonic()
        if self.calibrating is not None or (
            self.calibrated_at is not None and now - self.calibrated_at < self.CALIBRATE_EVERY_S
        ):
            return False
        self.calibrated_at = now
        self.cfg = AnalyzerConfig()
        self.close()  # opened again, uncalibrated, at the next frame
        self.calibrating = CalibrationRun()
        return True

    def _calibration_step(self, live: LiveFrame) -> dict[str, Any]:
        assert self.calibrating is not None
        prompt = self.calibrating.push(live.time_s, live.lone_gaze())
        if prompt is not None:
            return {"prompt": prompt}
        run, self.calibrating = self.calibrating, None
        try:
            cal = run.result()
        except CalibrationError as e:  # practise on as before, with the earlier one if any
            if self.calibration is not None:
                self.cfg = calibration.apply(AnalyzerConfig(), self.calibration)
                self.close()
            return {"calibration_error": str(e)}
        self.calibration = cal
        self.cfg = calibration.apply(AnalyzerConfig(), cal)
        self.close()  # the practice starts afresh, calibrated
        return {
            "calibration": calibration.to_dict(cal),
            "calibration_advice": cal.advice(self.cfg.gaze.eye_contact_tolerance_deg),
        }

    def close(self) -> None:
        if self.live is not None:
            self.live.close()
            self.live = None
