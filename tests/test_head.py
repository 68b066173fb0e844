"""Head pose angles and nod detection on synthetic rotations and pitch signals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analyzer.signals.head import detect_nods, head_pose


def rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def rot_x(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def rot_z(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


@pytest.mark.parametrize(
    ("rotation", "yaw", "pitch", "roll"),
    [
        (np.eye(3), 0.0, 0.0, 0.0),
        (rot_y(20), 20.0, 0.0, 0.0),  # turned toward the viewer's right
        (rot_y(-35), -35.0, 0.0, 0.0),
        (rot_x(-15), 0.0, 15.0, 0.0),  # tilted up
        (rot_x(25), 0.0, -25.0, 0.0),  # tilted down
        (rot_z(10), 0.0, 0.0, 10.0),  # counter-clockwise as the viewer sees it
        (rot_y(30) @ rot_x(-10), 30.0, 10.0, 0.0),
    ],
)
def test_head_pose_angles(rotation: np.ndarray, yaw: float, pitch: float, roll: float) -> None:
    hp = head_pose(rotation)
    assert hp.yaw_deg == pytest.approx(yaw, abs=0.5)
    assert hp.pitch_deg == pytest.approx(pitch, abs=0.5)
    assert hp.roll_deg == pytest.approx(roll, abs=0.5)


def _signal(seconds: float, fps: float = 10.0) -> np.ndarray:
    return np.arange(0, seconds, 1.0 / fps)


def test_three_nods_are_counted() -> None:
    t = _signal(10)
    pitch = np.full_like(t, 2.0)
    for centre in (3.0, 4.0, 5.0):  # three dips of 8 degrees, 0.5 s wide
        pitch -= 8.0 * np.exp(-(((t - centre) / 0.12) ** 2))
    nods = detect_nods(t, pitch)
    assert len(nods) == 3
    assert [round(n.time_s) for n in nods] == [3, 4, 5]
    assert all(n.amplitude_deg > 5 for n in nods)


def test_still_head_with_jitter_has_no_nods() -> None:
    rng = np.random.default_rng(0)
    t = _signal(20)
    pitch = 3.0 + rng.normal(0, 0.6, t.size)  # landmark jitter, well under a nod
    assert detect_nods(t, pitch) == []


def test_slow_look_down_is_not_a_nod() -> None:
    t = _signal(12)
    pitch = np.where(t < 4, 0.0, np.where(t < 8, -20.0, 0.0))  # looks down at notes for 4 s
    pitch = np.convolve(pitch, np.ones(15) / 15, mode="same")  # over 1.5 s each way
    assert detect_nods(t, pitch) == []


def test_head_shake_is_not_a_nod() -> None:
    t = _signal(8)
    yaw = 15.0 * np.sin(2 * math.pi * 1.0 * t)  # shaking the head "no"
    pitch = 4.0 * np.sin(2 * math.pi * 2.0 * t)  # the pitch wobbles with it
    assert detect_nods(t, pitch, yaw_deg=yaw) == []
    assert len(detect_nods(t, pitch)) > 0  # without yaw the wobble would pass for nods


def test_nods_not_built_across_missing_samples() -> None:
    t = _signal(6)
    pitch = np.zeros_like(t)
    pitch[(t > 1.95) & (t < 4.05)] = np.nan  # face lost for two seconds
    pitch[np.isclose(t, 1.9)] = -8.0  # a dip right before the gap...
    pitch[np.isclose(t, 4.1)] = -8.0  # ...and right after: neither has both sides
    assert detect_nods(t, pitch) == []


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="equal length"):
        detect_nods([0.0, 0.1], [0.0])
