"""Head pose angles from a rotation matrix, and nods from a head-pitch signal.

Conventions (camera space: x to the image right, y up, z toward the viewer):
``yaw_deg`` > 0: the face turns toward the viewer's right (the person's left);
``pitch_deg`` > 0: the face tilts up; ``roll_deg`` > 0: the head tilts counter-clockwise as the
viewer sees it. All zero for a face looking straight along the camera axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analyzer.types import DoubleArray, Nod


@dataclass(frozen=True)
class HeadPose:
    yaw_deg: float
    pitch_deg: float
    roll_deg: float


def head_pose(rotation: DoubleArray) -> HeadPose:
    """Yaw, pitch and roll of a head whose face-local axes are the columns of ``rotation``."""
    fwd = rotation[:, 2]
    yaw = math.degrees(math.atan2(fwd[0], fwd[2]))
    pitch = math.degrees(math.atan2(fwd[1], math.hypot(fwd[0], fwd[2])))
    right = rotation[:, 0]
    roll = math.degrees(math.atan2(right[1], right[0]))
    return HeadPose(yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll)


def detect_nods(
    times_s: npt.ArrayLike,
    pitch_deg: npt.ArrayLike,
    *,
    yaw_deg: npt.ArrayLike | None = None,
    min_amplitude_deg: float = 4.0,
    max_duration_s: float = 1.5,
    baseline_window_s: float = 2.0,
) -> list[Nod]:
    """Nods in a head-pitch signal sampled at ``times_s`` (NaN where not measured).

    The slow trend (posture, looking down at notes) is removed with a running median over
    ``baseline_window_s``; a nod is then a dip below that trend by at least ``min_amplitude_deg``
    that rises back on both sides by the same amount within ``max_duration_s``. Gaps of missing
    samples longer than half a nod split the signal: a nod is never built across them.
    With ``yaw_deg``, a dip during which the head turns sideways more than it dips is part of a
    head shake or a look around, not a nod, and is dropped.
    """
    from scipy.signal import find_peaks

    t = np.asarray(times_s, dtype=np.float64)
    p = np.asarray(pitch_deg, dtype=np.float64)
    y = np.zeros_like(p) if yaw_deg is None else np.asarray(yaw_deg, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 1 or y.shape != p.shape:
        raise ValueError(
            f"times_s, pitch_deg and yaw_deg must be 1-D and equal length, got {t.shape}, "
            f"{p.shape}, {y.shape}"
        )
    nods: list[Nod] = []
    for seg_t, seg_p, seg_y in _finite_segments(t, p, y, max_gap_s=max_duration_s / 2):
        if seg_t.size < 4:
            continue
        dt = float(np.median(np.diff(seg_t)))
        if dt <= 0:
            continue
        detrended = seg_p - _running_median(seg_p, max(3, round(baseline_window_s / dt) | 1))
        width_max = max(2, round(max_duration_s / dt))
        peaks, props = find_peaks(-detrended, prominence=min_amplitude_deg, wlen=width_max + 1)
        for idx, prom, lb, rb in zip(
            peaks, props["prominences"], props["left_bases"], props["right_bases"], strict=True
        ):
            yaw_span = float(np.nanmax(seg_y[lb : rb + 1]) - np.nanmin(seg_y[lb : rb + 1]))
            if np.isfinite(yaw_span) and yaw_span > prom:
                continue
            nods.append(Nod(time_s=float(seg_t[idx]), amplitude_deg=float(prom)))
    return nods


Arr = npt.NDArray[np.float64]


def _finite_segments(t: Arr, p: Arr, y: Arr, max_gap_s: float) -> list[tuple[Arr, Arr, Arr]]:
    ok = np.isfinite(p) & np.isfinite(t)
    t, p, y = t[ok], p[ok], y[ok]
    if t.size == 0:
        return []
    breaks = np.nonzero(np.diff(t) > max_gap_s)[0] + 1
    return list(zip(np.split(t, breaks), np.split(p, breaks), np.split(y, breaks), strict=True))


def _running_median(x: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    from scipy.ndimage import median_filter

    out: npt.NDArray[np.float64] = median_filter(x, size=window, mode="nearest")
    return out
