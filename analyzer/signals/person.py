"""All of one person's signals on one frame, from their face and/or body (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from analyzer.config import AnalyzerConfig
from analyzer.geometry import camera_for
from analyzer.signals import expression, facing, gaze, posture
from analyzer.signals.head import head_pose
from analyzer.types import DoubleArray, FloatArray, PersonDetection, PersonSample

# With the eyes shut (or the lids lowered over a phone) a head tilted down this far counts as
# looking down even though the gaze cannot be measured.
HEAD_DOWN_DEG = -20.0


@dataclass(frozen=True)
class Measured:
    """A sample without expressiveness (which needs the session's neutral) plus the features."""

    sample: PersonSample
    expression_features: FloatArray | None


def _triple(v: DoubleArray) -> tuple[float, float, float]:
    return (round(float(v[0]), 3), round(float(v[1]), 3), round(float(v[2]), 3))


def measure_person(det: PersonDetection, time_s: float, cfg: AnalyzerConfig) -> Measured:
    sample = PersonSample(time_s=time_s, face_visible=det.face is not None, anchor_xy=det.anchor_xy)
    features = None
    face = det.face
    if face is not None:
        head = gaze.head_relative_to_camera(face)
        closed = gaze.eyes_closed(face.blendshapes, cfg.gaze.eyes_closed_threshold)
        g = None if closed else gaze.gaze(face, cfg.gaze)
        looking_down: bool | None = None
        if g is not None:
            looking_down = g.pitch_deg < cfg.gaze.looking_down_pitch_deg
        elif head.pitch_deg < HEAD_DOWN_DEG:
            looking_down = True
        sample = replace(
            sample,
            head_yaw_deg=head.yaw_deg,
            head_pitch_deg=head.pitch_deg,
            head_roll_deg=head_pose(face.rotation).roll_deg,
            eyes_closed=closed,
            gaze_yaw_deg=None if g is None else g.yaw_deg,
            gaze_pitch_deg=None if g is None else g.pitch_deg,
            eye_contact=None if g is None else gaze.is_eye_contact(g, cfg.gaze),
            eye_contact_confidence=None
            if g is None
            else round(gaze.contact_confidence(g, cfg.gaze), 3),
            looking_down=looking_down,
            smile=expression.smile(face.blendshapes),
            face_width_px=face.bbox_xyxy[2] - face.bbox_xyxy[0],
            head_xyz_cm=_triple(gaze.head_position_cm(face)),
            gaze_xyz=None if g is None else _triple(gaze.gaze_in_camera(face, g)),
        )
        features = expression.face_shape(face)
    if det.pose is not None:
        p = posture.posture(det.pose, cfg.posture)
        camera = camera_for(det.region, cfg.gaze.camera_vertical_fov_deg)
        toward = facing.facing_in_camera(det.pose, camera)
        sample = replace(
            sample,
            arms_crossed=p.arms_crossed,
            openness=p.openness,
            facing_xyz=None if toward is None else _triple(toward),
        )
        if sample.head_xyz_cm is None:
            at = facing.head_position_from_body_cm(det.pose, camera)
            sample = replace(sample, head_xyz_cm=None if at is None else _triple(at))
    return Measured(sample=sample, expression_features=features)
