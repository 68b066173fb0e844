"""A person's eye-contact calibration: ten seconds of looking into the lens, then at the middle
of the screen, in the live practice mode; saved, and reused by the batch analysis of that
person's recordings.

The gaze model has a vertical error of its own for each face (where the iris sits between the
lids, how the eyes are set): on the dev labels, offsets placed from each person's other contact
frames lift eye contact's MCC from 0.73 to 0.84 (an optimistic estimate from 7 people:
eval/oracle_calibration.py; no real calibration session has been measured). While the person
looks into the lens, their measured gaze pitch *is* that offset, and it is taken off every
later gaze
(``GazeConfig.calibration_pitch_deg``). Where they look on the screen says how far the screen's
middle is from the lens for them: if it is within the eye-contact tolerance, looking at the
partner on the screen cannot be told from looking into the camera, and the calibration says so.

``CalibrationRun`` is the live routine (prompts and timing, one frame at a time); the file is
JSON. A calibration is one person's: it belongs with recordings of that person alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from analyzer.config import AnalyzerConfig
from analyzer.errors import InputError

# Each phase: what the person is asked, and for how long; the first SETTLE_S of a phase are
# not used (the eyes are still on their way).
PHASES: tuple[tuple[str, str, float], ...] = (
    ("lens", "Calibrating: look into the camera lens", 5.0),
    ("screen", "Now look at the middle of your screen", 5.0),
)
SETTLE_S = 1.5
# A phase needs this many frames with the eyes measured, held this steadily (median distance
# of the gazes from their median), or it is not a calibration.
MIN_FRAMES = 8
MAX_SPREAD_DEG = 6.0
# A lens offset beyond this is not an error of the gaze model but someone looking elsewhere.
MAX_OFFSET_DEG = 15.0
# An offset this large is possible but suspicious: the person may have looked at the screen
# instead of the lens (said, not refused).
LARGE_OFFSET_DEG = 10.0
# The screen's middle is within this of the lens for anyone who can see the screen.
MAX_SCREEN_DEG = 60.0
FORMAT = "presence-calibration/1"


class CalibrationError(InputError):
    """The calibration could not be made or read (one line, for the person)."""


@dataclass(frozen=True)
class Calibration:
    """``lens_*``: the measured gaze while looking into the lens (the offset); ``screen_*``:
    where the middle of the screen is, seen from the person, once the offset is taken off
    (None: that phase did not measure)."""

    lens_yaw_deg: float
    lens_pitch_deg: float
    lens_spread_deg: float
    frames: int
    screen_yaw_deg: float | None = None
    screen_pitch_deg: float | None = None

    def screen_from_lens_deg(self) -> float | None:
        """How far the screen's middle is from the lens (None: not measured)."""
        if self.screen_yaw_deg is None or self.screen_pitch_deg is None:
            return None
        y, p = math.radians(self.screen_yaw_deg), math.radians(self.screen_pitch_deg)
        return math.degrees(math.acos(max(-1.0, min(1.0, math.cos(y) * math.cos(p)))))

    def advice(self, tolerance_deg: float) -> str | None:
        """What the person should know about this calibration, in one sentence, or None."""
        if math.hypot(self.lens_yaw_deg, self.lens_pitch_deg) >= LARGE_OFFSET_DEG:
            return (
                "your gaze read far from the lens: if you were looking at the screen rather "
                "than into the lens itself, calibrate again"
            )
        if self.screen_is_camera(tolerance_deg):
            return (
                "from where you sit, looking at the middle of your screen counts as looking "
                "into the camera: the two cannot be told apart (a camera nearer to where your "
                "partner's face is shown would change that)"
            )
        return None

    def screen_is_camera(self, tolerance_deg: float) -> bool | None:
        """Looking at the screen's middle counts as eye contact for this person (so the two
        cannot be told apart)."""
        d = self.screen_from_lens_deg()
        return None if d is None else d <= tolerance_deg


def _centre(gazes: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """Median yaw, median pitch, and the median distance of the gazes from them."""
    arr = np.asarray(gazes, dtype=np.float64)
    med = np.median(arr, axis=0)
    spread = float(np.median(np.hypot(*(arr - med).T)))
    return float(med[0]), float(med[1]), spread


def calibrate(
    lens: Sequence[tuple[float, float]], screen: Sequence[tuple[float, float]] = ()
) -> Calibration:
    """A calibration from the gazes (yaw, pitch relative to the camera, degrees) measured while
    the person looked into the lens and then at the screen's middle."""
    if len(lens) < MIN_FRAMES:
        raise CalibrationError(
            f"calibration: the eyes were measured in {len(lens)} frame(s) while looking into "
            f"the lens, {MIN_FRAMES} are needed; face the camera in good light and try again"
        )
    yaw, pitch, spread = (round(v, 2) for v in _centre(lens))  # checked as it is kept
    if spread > MAX_SPREAD_DEG:
        raise CalibrationError(
            f"calibration: the gaze moved too much while looking into the lens ({spread:.0f} "
            f"deg around its middle); hold it on the lens and try again"
        )
    if math.hypot(yaw, pitch) > MAX_OFFSET_DEG:
        raise CalibrationError(
            f"calibration: the gaze was {math.hypot(yaw, pitch):.0f} deg from the lens, more "
            "than the eyes' measurement can be off; look into the lens itself and try again"
        )
    cal = Calibration(
        lens_yaw_deg=yaw, lens_pitch_deg=pitch, lens_spread_deg=spread, frames=len(lens)
    )
    if len(screen) >= MIN_FRAMES:
        s_yaw, s_pitch, s_spread = _centre(screen)
        if s_spread <= MAX_SPREAD_DEG and math.hypot(s_yaw, s_pitch - pitch) <= MAX_SCREEN_DEG:
            cal = replace(
                cal,
                screen_yaw_deg=round(s_yaw, 2),
                screen_pitch_deg=round(s_pitch - pitch, 2),
            )
    return cal


def apply(cfg: AnalyzerConfig, cal: Calibration) -> AnalyzerConfig:
    """The analysis settings with this person's vertical offset taken off every gaze."""
    return replace(cfg, gaze=replace(cfg.gaze, calibration_pitch_deg=cal.lens_pitch_deg))


def to_dict(cal: Calibration) -> dict[str, object]:
    """The calibration as the file (and the practice page) keep it."""
    return {"format": FORMAT, **asdict(cal)}


def from_dict(data: object, where: str) -> Calibration:
    """A calibration from its JSON form (``where``: what to name in an error)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationError(f"{where}: not a calibration file (no {FORMAT!r} format)")

    def number(name: str) -> float | None:
        value = data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(name)
        return float(value)

    try:
        lens_yaw, lens_pitch = number("lens_yaw_deg"), number("lens_pitch_deg")
        spread, frames = number("lens_spread_deg"), number("frames")
        if lens_yaw is None or lens_pitch is None or spread is None or frames is None:
            raise ValueError("missing")
        if not (0 <= spread <= MAX_SPREAD_DEG and MIN_FRAMES <= frames <= 100_000):
            raise ValueError("out of range")
        cal = Calibration(
            lens_yaw_deg=lens_yaw,
            lens_pitch_deg=lens_pitch,
            lens_spread_deg=spread,
            frames=int(frames),
            screen_yaw_deg=number("screen_yaw_deg"),
            screen_pitch_deg=number("screen_pitch_deg"),
        )
    except (ValueError, OverflowError):
        raise CalibrationError(f"{where}: a calibration with missing or bad values") from None
    screen = [v for v in (cal.screen_yaw_deg, cal.screen_pitch_deg) if v is not None]
    if (
        not all(math.isfinite(v) for v in (cal.lens_yaw_deg, cal.lens_pitch_deg, *screen))
        or math.hypot(cal.lens_yaw_deg, cal.lens_pitch_deg) > MAX_OFFSET_DEG
        or any(abs(v) > MAX_SCREEN_DEG for v in screen)
    ):
        raise CalibrationError(f"{where}: the calibration's offset is out of range")
    return cal


def save(cal: Calibration, path: Path) -> None:
    """Write the calibration as JSON (whole or not at all)."""
    data = to_dict(cal)
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        part.replace(path)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise CalibrationError(f"{path}: cannot write the calibration ({e.strerror})") from None


def load(path: Path) -> Calibration:
    """Read a calibration file (one-line errors)."""
    try:
        if path.stat().st_size > 64 * 1024:
            raise CalibrationError(f"{path}: not a calibration file (too large)")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CalibrationError(f"{path}: cannot read the calibration ({e.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CalibrationError(f"{path}: not a calibration file (not JSON)") from None
    return from_dict(data, str(path))


class CalibrationRun:
    """The live calibration, frame by frame: ``push`` each frame's time and the person's gaze
    (None: not measured); it answers the prompt to show, or None once both phases are over
    (then ``result``)."""

    def __init__(self) -> None:
        self._start_s: float | None = None
        self._gazes: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in PHASES}

    def push(self, time_s: float, gaze: tuple[float, float] | None) -> str | None:
        if self._start_s is None:
            self._start_s = time_s
        t = time_s - self._start_s
        for name, prompt, length_s in PHASES:
            if t < length_s:
                if gaze is not None and t >= SETTLE_S:
                    self._gazes[name].append(gaze)
                left = math.ceil(length_s - t)
                return f"{prompt} ({left})"
            t -= length_s
        return None

    def result(self) -> Calibration:
        return calibrate(self._gazes["lens"], self._gazes["screen"])
