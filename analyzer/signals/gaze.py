"""Gaze direction from head rotation and eye rotation, measured against the direction to the camera.

Eye rotation comes from two independent estimates, averaged with ``GazeConfig.iris_weight``:

* the irises: each iris centre's offset from the middle of its eye's corners, along and across
  the corner-to-corner line, divided by half the eye's width, turned into an angle with a simple
  eyeball model (``asin(iris_gain * offset)``);
* the eye-look blendshapes (``eyeLookIn/Out/Up/Down`` of each eye), scaled so 1.0 is
  ``blendshape_full_scale_deg``.

The gaze ray is the head's forward axis turned by the eye rotation. The head rotation is
view-relative (see ``FaceObservation.rotation``): relative to the line from the face to the camera,
so a face anywhere in the picture that points into the lens has yaw and pitch 0. The result is
``gaze_yaw_deg`` (> 0: to the viewer's right of the camera) and ``gaze_pitch_deg`` (> 0: above
the camera).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analyzer.config import GazeConfig
from analyzer.geometry import onto_line_of_sight, point_at_depth
from analyzer.types import DoubleArray, FaceObservation, FloatArray

# Face-mesh indices. "Right"/"left" are the person's own: their right eye is on the image left.
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_INNER, LEFT_EYE_OUTER = 362, 263
RIGHT_IRIS, LEFT_IRIS = 468, 473


@dataclass(frozen=True)
class EyeRotation:
    """Rotation of the eyes inside the head, degrees (yaw > 0 toward the face's own +x axis, which
    is the viewer's right for a frontal face; pitch > 0 up)."""

    yaw_deg: float
    pitch_deg: float


@dataclass(frozen=True)
class Gaze:
    yaw_deg: float
    pitch_deg: float

    @property
    def off_axis_deg(self) -> float:
        """Angle between the gaze and the direction to the camera."""
        y, p = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        return math.degrees(math.acos(max(-1.0, min(1.0, math.cos(y) * math.cos(p)))))


def eyes_closed(blendshapes: Mapping[str, float], threshold: float) -> bool:
    return (
        min(blendshapes.get("eyeBlinkLeft", 0.0), blendshapes.get("eyeBlinkRight", 0.0)) > threshold
    )


def iris_offsets(landmarks_xy: FloatArray) -> tuple[float, float]:
    """Mean normalised iris offset of both eyes: (along the eye toward the image right, up)."""
    hs, vs = [], []
    for a, b, iris in (
        (RIGHT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_IRIS),
        (LEFT_EYE_INNER, LEFT_EYE_OUTER, LEFT_IRIS),
    ):
        p0 = landmarks_xy[a].astype(np.float64)
        p1 = landmarks_xy[b].astype(np.float64)
        axis = p1 - p0
        half = float(np.linalg.norm(axis)) / 2.0
        if half < 1e-6:
            continue
        u = axis / (2.0 * half)
        up = np.array([u[1], -u[0]])  # image y grows downward: rotate the eye axis toward "up"
        d = landmarks_xy[iris].astype(np.float64) - (p0 + p1) / 2.0
        hs.append(float(d @ u) / half)
        vs.append(float(d @ up) / half)
    if not hs:
        return (math.nan, math.nan)
    return (float(np.mean(hs)), float(np.mean(vs)))


def eye_rotation_from_irises(landmarks_xy: FloatArray, cfg: GazeConfig) -> EyeRotation:
    h, v = iris_offsets(landmarks_xy)
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, cfg.iris_gain * h))))
    pitch = math.degrees(
        math.asin(max(-1.0, min(1.0, cfg.iris_gain * (v - cfg.iris_vertical_bias))))
    )
    return EyeRotation(yaw_deg=yaw, pitch_deg=pitch)


def eye_rotation_from_blendshapes(bs: Mapping[str, float], cfg: GazeConfig) -> EyeRotation:
    # Toward the viewer's right: the person's left eye looks out and their right eye looks in.
    toward_right = bs.get("eyeLookOutLeft", 0.0) + bs.get("eyeLookInRight", 0.0)
    toward_left = bs.get("eyeLookInLeft", 0.0) + bs.get("eyeLookOutRight", 0.0)
    up = bs.get("eyeLookUpLeft", 0.0) + bs.get("eyeLookUpRight", 0.0)
    down = bs.get("eyeLookDownLeft", 0.0) + bs.get("eyeLookDownRight", 0.0)
    s = cfg.blendshape_full_scale_deg / 2.0
    return EyeRotation(yaw_deg=(toward_right - toward_left) * s, pitch_deg=(up - down) * s)


def eye_rotation(face: FaceObservation, cfg: GazeConfig) -> EyeRotation:
    a = eye_rotation_from_irises(face.landmarks_xy, cfg)
    b = eye_rotation_from_blendshapes(face.blendshapes, cfg)
    w = cfg.iris_weight
    if not (math.isfinite(a.yaw_deg) and math.isfinite(a.pitch_deg)):
        return b
    return EyeRotation(
        yaw_deg=w * a.yaw_deg + (1 - w) * b.yaw_deg,
        pitch_deg=w * a.pitch_deg + (1 - w) * b.pitch_deg,
    )


def gaze_vector(rotation: DoubleArray, eye: EyeRotation) -> DoubleArray:
    """Unit gaze direction in camera space: the head's forward axis turned by the eye rotation."""
    y, p = math.radians(eye.yaw_deg), math.radians(eye.pitch_deg)
    local = np.array([math.sin(y) * math.cos(p), math.sin(p), math.cos(y) * math.cos(p)])
    g: DoubleArray = rotation @ local
    out: DoubleArray = g / np.linalg.norm(g)
    return out


def direction_angles(direction: DoubleArray) -> Gaze:
    """Yaw/pitch of a view-relative direction; (0, 0) points straight into the camera."""
    x, y, z = (float(c) for c in direction)
    return Gaze(
        yaw_deg=math.degrees(math.atan2(x, z)),
        pitch_deg=math.degrees(math.atan2(y, math.hypot(x, z))),
    )


def head_relative_to_camera(face: FaceObservation) -> Gaze:
    """Where the head alone points, relative to the camera (eyes ignored)."""
    return direction_angles(face.rotation[:, 2])


def gaze(face: FaceObservation, cfg: GazeConfig) -> Gaze | None:
    """Gaze relative to the camera, or None while the eyes are closed. A person's calibration
    (``cfg.calibration_pitch_deg``: their measured pitch while looking into the lens) is taken
    off."""
    if eyes_closed(face.blendshapes, cfg.eyes_closed_threshold):
        return None
    g = direction_angles(gaze_vector(face.rotation, eye_rotation(face, cfg)))
    if cfg.calibration_pitch_deg:
        g = Gaze(g.yaw_deg, g.pitch_deg - cfg.calibration_pitch_deg)
    return g


FACE_HEIGHT_CM = 17.0  # forehead (mesh point 10) to chin (152), an adult average


def head_position_cm(face: FaceObservation) -> DoubleArray:
    """Where the head (between the eyes) is in its camera's space, in cm, from the face's height
    in the picture (a pinhole estimate: about 10-20% off for an unusually sized face)."""
    h_px = float(np.linalg.norm(face.landmarks_xy[10] - face.landmarks_xy[152]))
    depth_cm = face.camera.focal_px * FACE_HEIGHT_CM / max(h_px, 1.0)
    return point_at_depth(face.camera, face.eyes_mid_xy, depth_cm)


def gaze_in_camera(face: FaceObservation, g: Gaze) -> DoubleArray:
    """The gaze as a unit vector in camera space (x right, y up, z toward the viewer)."""
    y, p = math.radians(g.yaw_deg), math.radians(g.pitch_deg)
    view = np.array([math.sin(y) * math.cos(p), math.sin(p), math.cos(y) * math.cos(p)])
    return onto_line_of_sight(face.camera, face.eyes_mid_xy, view)


def is_eye_contact(g: Gaze, cfg: GazeConfig) -> bool:
    return g.off_axis_deg <= cfg.eye_contact_tolerance_deg


def contact_confidence(g: Gaze, cfg: GazeConfig) -> float:
    """How sure this frame's eye-contact call is (0.5-1): the chance that the true gaze lies
    on the same side of the tolerance as the measured one, with a normal error of
    ``gaze_error_deg``. A gaze near the tolerance is a close call, one far from it is not."""
    margin = (cfg.eye_contact_tolerance_deg - g.off_axis_deg) / cfg.gaze_error_deg
    p = 0.5 * (1.0 + math.erf(margin / math.sqrt(2.0)))
    return max(p, 1.0 - p)
