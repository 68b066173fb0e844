"""Crossed arms and openness on synthetic bodies (shoulders 100 px apart, facing the camera)."""

from __future__ import annotations

import pytest

from analyzer.config import PostureConfig
from analyzer.signals.posture import posture
from tests.builders import L_SHOULDER, L_WRIST, R_SHOULDER, R_WRIST, pose, upper_body

CFG = PostureConfig()

FOLDED = upper_body(l_elbow=(385, 300), l_wrist=(275, 290), r_elbow=(255, 300), r_wrist=(365, 295))
# As the pose model sees real folded arms: the top forearm's wrist well across, the tucked hand
# placed short of the midline (fr_obama_portrait.jpg looks like this).
FOLDED_TUCKED = upper_body(
    l_elbow=(371, 287), l_wrist=(273, 281), r_elbow=(245, 276), r_wrist=(324, 287)
)
X_CROSS = upper_body(l_elbow=(360, 300), l_wrist=(290, 215), r_elbow=(280, 300), r_wrist=(350, 215))
ARMS_DOWN = upper_body(
    l_elbow=(385, 300), l_wrist=(390, 400), r_elbow=(255, 300), r_wrist=(250, 400)
)
WIDE_OPEN = upper_body(
    l_elbow=(420, 260), l_wrist=(480, 240), r_elbow=(220, 260), r_wrist=(160, 240)
)
CLASPED_LOW = upper_body(
    l_elbow=(385, 310), l_wrist=(325, 380), r_elbow=(255, 310), r_wrist=(315, 380)
)
WRISTS_CROSSED_LOW = upper_body(
    l_elbow=(385, 310), l_wrist=(300, 410), r_elbow=(255, 310), r_wrist=(340, 410)
)
ONE_ARM_ACROSS = upper_body(
    l_elbow=(385, 300), l_wrist=(275, 290), r_elbow=(255, 300), r_wrist=(250, 400)
)


@pytest.mark.parametrize(
    ("points", "hidden", "crossed"),
    [
        (FOLDED, (L_WRIST, R_WRIST), True),  # hands tucked away: hidden but in the frame
        (FOLDED_TUCKED, (), True),
        (X_CROSS, (), True),
        (ARMS_DOWN, (), False),
        (WIDE_OPEN, (), False),
        (CLASPED_LOW, (), False),
        (WRISTS_CROSSED_LOW, (), False),
        (ONE_ARM_ACROSS, (), False),
    ],
    ids=[
        "folded",
        "folded-tucked",
        "x-cross",
        "arms-down",
        "wide-open",
        "clasped-low",
        "wrists-low",
        "one-arm",
    ],
)
def test_arms_crossed(points: dict, hidden: tuple[int, ...], crossed: bool) -> None:
    p = posture(pose(points, hidden=hidden), CFG)
    assert p.arms_crossed is crossed
    assert p.openness is not None


def test_openness_orders_postures() -> None:
    def openness(points: dict, **kw: object) -> float:
        value = posture(pose(points, **kw), CFG).openness  # type: ignore[arg-type]
        assert value is not None
        return value

    folded = openness(FOLDED, hidden=(L_WRIST, R_WRIST))
    down = openness(ARMS_DOWN)
    wide = openness(WIDE_OPEN)
    assert folded <= 0.25 < down < wide <= 1.0
    turned = openness(ARMS_DOWN, shoulder_depth_m=0.3)  # shoulders turned ~40 degrees away
    assert turned < down


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"absent": (L_WRIST, R_WRIST)}, "wrists out of the picture"),
        ({"hidden": (L_SHOULDER, R_SHOULDER)}, "shoulders not visible"),
    ],
)
def test_not_measurable_is_none(kwargs: dict, what: str) -> None:
    p = posture(pose(ARMS_DOWN, **kwargs), CFG)
    assert p.arms_crossed is None, what
    assert p.openness is None, what


def test_wrist_beyond_the_frame_edge_is_not_measurable() -> None:
    pts = dict(ARMS_DOWN)
    pts[R_WRIST] = (250.0, 530.0)  # the frame is 480 px tall
    assert posture(pose(pts), CFG).arms_crossed is None
