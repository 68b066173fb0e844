"""Crossed arms and openness from the pose landmarks of one frame (pure geometry).

Everything is measured in the image, in units of the person's shoulder width, along the shoulder
line ("lateral": how far toward the person's own side, 0 at the body midline, +0.5 at their own
shoulder, negative once a hand has crossed the midline) and across it ("drop": how far below the
shoulder line). This works with hips out of view, as in seated webcam framing.

* ``arms_crossed``: the forearms are folded across the chest: one wrist well past the midline
  with its elbow out on its own side and the forearm level or rising, and the other arm either
  the same or folded in level at chest height (its hand hidden under the first arm, where the
  pose model tends to put it short of the midline). Hands clasped low in front of the belly
  (wrists well below the elbows), a hand on the chin (that wrist above the shoulders) and one
  arm across with the other hanging are not crossed arms.
* ``openness`` 0-1: arms away from the torso (how far the wrists are out to the sides),
  shoulders square to the camera (from the pose model's 3D shoulder depth), and hands visible.

Both are None when the shoulders, elbows or wrists are not reliably in view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analyzer.config import PostureConfig
from analyzer.types import PoseObservation

L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16


@dataclass(frozen=True)
class ArmGeometry:
    """One arm in shoulder-width units (see module docstring)."""

    wrist_lateral: float
    elbow_lateral: float
    wrist_drop: float
    elbow_drop: float
    wrist_visibility: float

    @property
    def across_body(self) -> bool:
        """The forearm lies across the chest: the wrist is well past the body's midline."""
        return (
            self.wrist_lateral < -0.15
            and self.elbow_lateral > self.wrist_lateral + 0.3
            and self.wrist_drop - self.elbow_drop < 0.35
            and -0.2 < self.wrist_drop < 1.6
        )

    @property
    def tucked_in(self) -> bool:
        """The forearm is folded in level at chest height, its hand toward the midline: the arm
        underneath in folded arms, whose hand (tucked under the other arm) the pose model tends
        to place short of the midline."""
        return (
            self.wrist_lateral < 0.35
            and self.elbow_lateral > self.wrist_lateral + 0.2
            and 0.3 < self.wrist_drop < 1.4
            and abs(self.wrist_drop - self.elbow_drop) < 0.4
        )


def arms_folded(left: ArmGeometry, right: ArmGeometry) -> bool:
    """Both forearms across the body, or one across and the other folded in beneath it."""
    return (left.across_body and (right.across_body or right.tucked_in)) or (
        right.across_body and left.tucked_in
    )


@dataclass(frozen=True)
class PostureSignals:
    arms_crossed: bool | None
    openness: float | None
    left: ArmGeometry | None = None
    right: ArmGeometry | None = None


def _in_frame(pose: PoseObservation, idx: int, margin_px: float = 2.0) -> bool:
    r = pose.region
    x, y = pose.landmarks_xy[idx]
    return bool(
        r.x - margin_px <= x <= r.x + r.width + margin_px
        and r.y - margin_px <= y <= r.y + r.height + margin_px
    )


def arm_geometry(
    pose: PoseObservation, cfg: PostureConfig
) -> tuple[ArmGeometry | None, ArmGeometry | None]:
    """(person's left arm, person's right arm), each None when not measurable."""
    ls, rs = (
        pose.landmarks_xy[L_SHOULDER].astype(np.float64),
        pose.landmarks_xy[R_SHOULDER].astype(np.float64),
    )
    if min(pose.visibility[L_SHOULDER], pose.visibility[R_SHOULDER]) < cfg.min_shoulder_visibility:
        return (None, None)
    across = ls - rs  # from the right shoulder to the left shoulder
    sw = float(np.linalg.norm(across))
    if sw < 1e-6:
        return (None, None)
    u = across / sw
    down = np.array([-u[1], u[0]])  # perpendicular, pointing toward the hips (image y grows down)
    if down[1] < 0:
        down = -down
    mid = (ls + rs) / 2.0

    def arm(elbow: int, wrist: int, side: float) -> ArmGeometry | None:
        for i in (elbow, wrist):
            if pose.presence[i] < cfg.min_arm_presence or not _in_frame(pose, i):
                return None
        e = pose.landmarks_xy[elbow].astype(np.float64) - mid
        w = pose.landmarks_xy[wrist].astype(np.float64) - mid
        return ArmGeometry(
            wrist_lateral=side * float(w @ u) / sw,
            elbow_lateral=side * float(e @ u) / sw,
            wrist_drop=float(w @ down) / sw,
            elbow_drop=float(e @ down) / sw,
            wrist_visibility=float(pose.visibility[wrist]),
        )

    return (arm(L_ELBOW, L_WRIST, 1.0), arm(R_ELBOW, R_WRIST, -1.0))


def torso_yaw_deg(pose: PoseObservation) -> float | None:
    """How far the shoulders turn away from square to the camera (0 = square), in 3D."""
    w = pose.world_xyz
    d = w[L_SHOULDER] - w[R_SHOULDER]
    if not np.all(np.isfinite(d)):
        return None
    return abs(math.degrees(math.atan2(float(d[2]), float(abs(d[0])) + 1e-9)))


def posture(pose: PoseObservation, cfg: PostureConfig) -> PostureSignals:
    left, right = arm_geometry(pose, cfg)
    if left is None or right is None:
        return PostureSignals(arms_crossed=None, openness=None, left=left, right=right)
    crossed = arms_folded(left, right)
    spread = float(np.clip((left.wrist_lateral + right.wrist_lateral) / 2.0, 0.0, 1.0))
    yaw = torso_yaw_deg(pose)
    square = 1.0 if yaw is None else float(np.clip(1.0 - yaw / 60.0, 0.0, 1.0))
    hands = (left.wrist_visibility + right.wrist_visibility) / 2.0
    openness = 0.5 * spread + 0.25 * square + 0.25 * hands
    if crossed:
        openness = min(openness, 0.25)
    return PostureSignals(arms_crossed=crossed, openness=float(openness), left=left, right=right)
