"""Self-calibration: where on the screen a person looks most, learned from their own session.

On a call people look at their partner's face on the screen most of the time, and that is not
the camera: usually a little below it, sometimes off to a side. Following ICE (Tran et al. 2019),
we find the densest direction of a person's gaze over the session and call looking within
``tolerance_deg`` of it "attention to the partner on screen", reported beside eye contact (which
is looking into the camera, what the partner sees as being looked at).

The calibration says how sure it is: ``confidence`` grows with the share of gaze that falls on
the target and with the amount of gaze measured (a minute of it counts fully), and is low when
the gaze has no clear favourite direction. When the target lies within the eye-contact tolerance
of the camera, the person mostly looks into the lens and the two measures coincide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from analyzer.types import ScreenTarget

RANGE_DEG = 45.0
FULL_CONFIDENCE_SAMPLES = 600  # a minute at 10 analyzed frames per second
MIN_SAMPLES = 30


def find_screen_target(
    gaze_yaw_deg: Sequence[float], gaze_pitch_deg: Sequence[float], tolerance_deg: float
) -> ScreenTarget | None:
    """The densest gaze direction (a smoothed 2-D histogram's peak); None with too little gaze."""
    from scipy.ndimage import gaussian_filter

    yaw = np.asarray(gaze_yaw_deg, dtype=np.float64)
    pitch = np.asarray(gaze_pitch_deg, dtype=np.float64)
    ok = np.isfinite(yaw) & np.isfinite(pitch)
    yaw, pitch = yaw[ok], pitch[ok]
    if yaw.size < MIN_SAMPLES:
        return None
    edges = np.arange(-RANGE_DEG, RANGE_DEG + 1.0, 1.0)
    hist, _, _ = np.histogram2d(yaw, pitch, bins=(edges, edges))
    density = gaussian_filter(hist, sigma=tolerance_deg / 2.0, mode="constant")
    iy, ip = np.unravel_index(int(np.argmax(density)), density.shape)
    centre_yaw, centre_pitch = float(edges[iy] + 0.5), float(edges[ip] + 0.5)
    near = np.hypot(yaw - centre_yaw, pitch - centre_pitch) <= tolerance_deg
    # refine to the mean of the gaze near the peak
    centre_yaw, centre_pitch = float(yaw[near].mean()), float(pitch[near].mean())
    near = np.hypot(yaw - centre_yaw, pitch - centre_pitch) <= tolerance_deg
    share = float(near.mean())
    confidence = share * min(1.0, yaw.size / FULL_CONFIDENCE_SAMPLES)
    return ScreenTarget(
        yaw_deg=round(centre_yaw, 1),
        pitch_deg=round(centre_pitch, 1),
        share=round(share, 3),
        confidence=round(confidence, 3),
        samples=int(yaw.size),
    )


def on_target(yaw_deg: float, pitch_deg: float, target: ScreenTarget, tolerance_deg: float) -> bool:
    return math.hypot(yaw_deg - target.yaw_deg, pitch_deg - target.pitch_deg) <= tolerance_deg
