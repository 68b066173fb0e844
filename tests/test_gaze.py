"""Gaze geometry on synthetic faces: iris offsets, eye rotation, head plus eyes, eyes closed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analyzer.config import GazeConfig
from analyzer.geometry import camera_for
from analyzer.landmarks import view_relative
from analyzer.signals import gaze as g_
from analyzer.types import Region
from tests.builders import face
from tests.test_head import rot_x, rot_y

CFG = GazeConfig()


def test_iris_offsets_follow_the_iris() -> None:
    assert g_.iris_offsets(face().landmarks_xy) == pytest.approx((0.0, 0.0), abs=1e-6)
    h, v = g_.iris_offsets(face(iris_shift=(0.3, 0.0)).landmarks_xy)
    assert h == pytest.approx(0.3, abs=1e-6)
    assert v == pytest.approx(0.0, abs=1e-6)
    h, v = g_.iris_offsets(face(iris_shift=(0.0, 0.2)).landmarks_xy)
    assert v == pytest.approx(0.2, abs=1e-6)  # up is positive although image y grows down


def test_iris_eye_rotation_uses_eyeball_model() -> None:
    cfg = GazeConfig(iris_vertical_bias=0.0)
    e = g_.eye_rotation_from_irises(face(iris_shift=(0.4, 0.0)).landmarks_xy, cfg)
    assert e.yaw_deg == pytest.approx(math.degrees(math.asin(cfg.iris_gain * 0.4)), abs=1e-6)
    assert e.pitch_deg == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("shapes", "yaw_sign", "pitch_sign"),
    [
        ({"eyeLookOutLeft": 0.6, "eyeLookInRight": 0.6}, 1, 0),  # toward the viewer's right
        ({"eyeLookInLeft": 0.6, "eyeLookOutRight": 0.6}, -1, 0),
        ({"eyeLookUpLeft": 0.5, "eyeLookUpRight": 0.5}, 0, 1),
        ({"eyeLookDownLeft": 0.7, "eyeLookDownRight": 0.7}, 0, -1),
    ],
)
def test_blendshape_eye_rotation_directions(
    shapes: dict[str, float], yaw_sign: int, pitch_sign: int
) -> None:
    e = g_.eye_rotation_from_blendshapes(shapes, CFG)
    assert np.sign(round(e.yaw_deg, 6)) == yaw_sign
    assert np.sign(round(e.pitch_deg, 6)) == pitch_sign


def test_frontal_face_with_centred_eyes_makes_eye_contact() -> None:
    cfg = GazeConfig(iris_vertical_bias=0.0)
    g = g_.gaze(face(), cfg)
    assert g is not None
    assert (g.yaw_deg, g.pitch_deg) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert g_.is_eye_contact(g, cfg)


def test_turned_head_with_centred_eyes_looks_away() -> None:
    cfg = GazeConfig(iris_vertical_bias=0.0)
    g = g_.gaze(face(rotation=rot_y(30)), cfg)
    assert g is not None
    assert g.yaw_deg == pytest.approx(30.0, abs=0.5)
    assert not g_.is_eye_contact(g, cfg)


def test_eyes_that_counter_rotate_keep_eye_contact() -> None:
    """Turning the head while the eyes stay on the lens (as when shaking the head "no")."""
    cfg = GazeConfig(iris_vertical_bias=0.0, iris_weight=1.0)
    shift = math.sin(math.radians(-20)) / cfg.iris_gain  # eyes turned 20 deg the other way
    g = g_.gaze(face(rotation=rot_y(20), iris_shift=(shift, 0.0)), cfg)
    assert g is not None
    assert g.off_axis_deg < 1.0
    assert g_.is_eye_contact(g, cfg)


def test_looking_down_gives_negative_pitch() -> None:
    cfg = GazeConfig(iris_vertical_bias=0.0)
    g = g_.gaze(face(rotation=rot_x(30)), cfg)  # head tilted down 30 degrees
    assert g is not None
    assert g.pitch_deg == pytest.approx(-30.0, abs=0.5)
    assert g.pitch_deg < cfg.looking_down_pitch_deg


def test_closed_eyes_give_no_gaze() -> None:
    closed = {"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.85}
    assert g_.gaze(face(blendshapes=closed), CFG) is None
    one_wink = {"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.1}
    assert g_.gaze(face(blendshapes=one_wink), CFG) is not None


def test_off_axis_angle() -> None:
    assert g_.Gaze(0.0, 0.0).off_axis_deg == pytest.approx(0.0)
    assert g_.Gaze(10.0, 0.0).off_axis_deg == pytest.approx(10.0, abs=1e-6)
    assert g_.Gaze(6.0, 8.0).off_axis_deg == pytest.approx(10.0, abs=0.1)


@pytest.mark.parametrize("face_xy", [(320.0, 240.0), (40.0, 240.0), (600.0, 60.0), (320.0, 470.0)])
def test_view_relative_undoes_the_line_of_sight_share(face_xy: tuple[float, float]) -> None:
    """A face MediaPipe reports with its share of the line-of-sight angle comes out frontal."""
    from analyzer.geometry import rotation_between
    from analyzer.landmarks import RAY_SHARE_PITCH, RAY_SHARE_YAW

    cam = camera_for(Region(0, 0, 640, 480), 63.0)
    toward = -cam.ray(*face_xy)
    yaw = math.atan2(toward[0], toward[2]) * RAY_SHARE_YAW
    pitch = math.atan2(toward[1], math.hypot(toward[0], toward[2])) * RAY_SHARE_PITCH
    d = np.array(
        [math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)]
    )
    reported = rotation_between(np.array([0.0, 0.0, 1.0]), d)
    frontal = view_relative(reported, cam, face_xy)
    np.testing.assert_allclose(frontal, np.eye(3), atol=1e-9)


def test_a_call_near_the_tolerance_is_a_close_one() -> None:
    from analyzer.config import GazeConfig
    from analyzer.signals.gaze import Gaze, contact_confidence

    cfg = GazeConfig()
    tol = cfg.eye_contact_tolerance_deg
    at_edge = contact_confidence(Gaze(tol, 0.0), cfg)
    assert at_edge == pytest.approx(0.5)
    just_in = contact_confidence(Gaze(tol - cfg.gaze_error_deg, 0.0), cfg)
    assert just_in == pytest.approx(0.841, abs=0.001)  # one error's width inside: 84%
    assert contact_confidence(Gaze(0.0, 0.0), cfg) > 0.99
    assert contact_confidence(Gaze(0.0, -45.0), cfg) > 0.99  # clearly away: sure too
    sweep = [contact_confidence(Gaze(a, 0.0), cfg) for a in range(0, int(tol) + 1)]
    assert sweep == sorted(sweep, reverse=True)
