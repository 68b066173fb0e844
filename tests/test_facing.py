"""The head's direction and place from the body model (signals.facing), and looking at a partner
with it: synthetic bodies for the geometry, the real models on real clips for the rest."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from analyzer.config import AnalyzerConfig, PartnerConfig
from analyzer.geometry import camera_for
from analyzer.models import ModelPaths
from analyzer.partners import judge_looking, looking_at
from analyzer.signals.facing import (
    facing_in_camera,
    facing_yaw_deg,
    head_position_from_body_cm,
)
from analyzer.types import PersonSample, PoseObservation, Region
from tests.conftest import media

FRAME = Region(0, 0, 640, 480)
CAMERA = camera_for(FRAME, 63.0)
CFG = PartnerConfig()

# A standing adult facing the camera, in metres (x to the image right, y up, z toward the
# camera; hip-centred like the pose model's world landmarks). Index: the pose model's.
HEAD = {
    0: (0.0, 1.55, 0.10),  # nose
    1: (0.02, 1.58, 0.08),
    2: (0.03, 1.58, 0.08),  # left eye (on the image right)
    3: (0.045, 1.58, 0.07),
    4: (-0.02, 1.58, 0.08),
    5: (-0.03, 1.58, 0.08),
    6: (-0.045, 1.58, 0.07),
    7: (0.075, 1.56, 0.0),  # left ear
    8: (-0.075, 1.56, 0.0),
    9: (0.02, 1.50, 0.09),
    10: (-0.02, 1.50, 0.09),
    11: (0.18, 1.35, 0.0),  # shoulders
    12: (-0.18, 1.35, 0.0),
}


def body(
    yaw_deg: float = 0.0,
    *,
    at_px: tuple[float, float] = (320.0, 400.0),
    depth_m: float = 2.0,
    absent: tuple[int, ...] = (),
) -> PoseObservation:
    """The body above, its head turned by ``yaw_deg`` (> 0: toward the image right), seen
    ``depth_m`` from the camera with its hips at ``at_px`` (weak perspective)."""
    r = math.radians(yaw_deg)
    world = np.zeros((33, 3), dtype=np.float32)
    for i, (x, y, z) in HEAD.items():
        if i <= 10:  # the head turns about its vertical axis through the ears
            x, z = x * math.cos(r) + z * math.sin(r), -x * math.sin(r) + z * math.cos(r)
        world[i] = (x, y, z)
    px_per_m = CAMERA.focal_px / depth_m
    xy = np.stack([at_px[0] + px_per_m * world[:, 0], at_px[1] - px_per_m * world[:, 1]], 1)
    vis = np.full(33, 0.9, dtype=np.float32)
    pres = np.full(33, 0.99, dtype=np.float32)
    for i in absent:
        vis[i], pres[i] = 0.01, 0.05
    return PoseObservation(
        landmarks_xy=xy.astype(np.float32),
        visibility=vis,
        presence=pres,
        world_xyz=world,
        region=FRAME,
    )


@pytest.mark.parametrize("yaw", [-100.0, -75.0, -30.0, 0.0, 20.0, 60.0, 90.0])
def test_the_head_turn_from_nose_and_ears(yaw: float) -> None:
    got = facing_yaw_deg(body(yaw))
    assert got is not None and got == pytest.approx(yaw, abs=0.5)


def test_no_direction_without_the_head_points() -> None:
    assert facing_yaw_deg(body(30.0, absent=(8,))) is None  # an ear out of the picture
    assert facing_yaw_deg(body(30.0, absent=(0,))) is None  # no nose
    assert facing_in_camera(body(30.0, absent=(7,)), CAMERA) is None


def test_direction_in_camera_space() -> None:
    # in the middle of the picture the line of sight is the camera axis
    v = facing_in_camera(body(90.0, at_px=(320.0, 400.0)), CAMERA)
    assert v is not None and np.allclose(v, [1.0, 0.0, 0.0], atol=0.2)
    # facing the camera from the picture's left edge: turned toward the lens, not along z
    nose_px = body(0.0, at_px=(40.0, 400.0)).landmarks_xy[0]
    edge = facing_in_camera(body(0.0, at_px=(40.0, 400.0)), CAMERA)
    assert edge is not None
    toward_lens = -CAMERA.ray(float(nose_px[0]), float(nose_px[1]))
    assert float(np.dot(edge, toward_lens)) > 0.99


@pytest.mark.parametrize("depth_m", [1.0, 2.0, 3.5])
def test_head_distance_from_the_body_size(depth_m: float) -> None:
    at = head_position_from_body_cm(body(40.0, depth_m=depth_m), CAMERA)
    assert at is not None
    # the nose is in front of the body's centre by up to 10 cm; the fit sees the silhouette
    assert -at[2] == pytest.approx(100.0 * depth_m, rel=0.03)


def _person(
    pose: PoseObservation,
    *,
    gaze: tuple[float, float, float] | None = None,
    head_yaw_deg: float | None = None,
    eyes_closed: bool | None = None,
) -> PersonSample:
    facing = facing_in_camera(pose, CAMERA)
    at = head_position_from_body_cm(pose, CAMERA)
    assert at is not None
    return PersonSample(
        time_s=0.0,
        face_visible=gaze is not None or eyes_closed is not None,
        head_yaw_deg=head_yaw_deg,
        eyes_closed=eyes_closed,
        head_xyz_cm=(float(at[0]), float(at[1]), float(at[2])),
        gaze_xyz=gaze,
        facing_xyz=None if facing is None else (float(facing[0]), 0.0, float(facing[2])),
    )


def test_two_people_in_profile_face_each_other() -> None:
    # side by side 2 m from the camera, 70 cm apart: each turned 80-95° toward the other
    left = _person(body(85.0, at_px=(250.0, 400.0)))
    right = _person(body(-95.0, at_px=(390.0, 400.0)))
    assert looking_at(left, right, CFG) is True and looking_at(right, left, CFG) is True
    # the left one turned to the camera, or away from the other: not looking at them
    assert looking_at(_person(body(10.0, at_px=(250.0, 400.0))), right, CFG) is False
    assert looking_at(_person(body(-80.0, at_px=(250.0, 400.0))), right, CFG) is False


def test_the_face_decides_when_it_can() -> None:
    right = _person(body(-90.0, at_px=(390.0, 400.0)))
    into_lens = (0.0, 0.0, 1.0)
    # the face (turned 20°) sees the gaze into the lens: the body's direction does not overrule
    it = _person(body(85.0, at_px=(250.0, 400.0)), gaze=into_lens, head_yaw_deg=20.0)
    assert looking_at(it, right, CFG) is False
    # a face in profile (turned 60°: its head pose flattens there): the body's direction counts
    it = _person(body(85.0, at_px=(250.0, 400.0)), gaze=into_lens, head_yaw_deg=60.0)
    assert looking_at(it, right, CFG) is True
    # eyes seen closed: not measured, whatever the head does
    shut = _person(body(85.0, at_px=(250.0, 400.0)), eyes_closed=True, head_yaw_deg=60.0)
    assert looking_at(shut, right, CFG) is None


def _placed(
    x_cm: float, y_cm: float, depth_cm: float, facing_deg: float, **kw: object
) -> PersonSample:
    """A head at (x, y, -depth) in camera space whose horizontal direction, seen from above,
    is ``facing_deg`` from the camera's axis toward the viewer (0: facing the lens; 90: facing
    the image right; 180: facing away), judged from the body alone."""
    r = math.radians(facing_deg)
    return PersonSample(
        time_s=0.0,
        face_visible=False,
        head_xyz_cm=(x_cm, y_cm, -depth_cm),
        facing_xyz=(math.sin(r), 0.0, math.cos(r)),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("depth_cm", [100.0, 250.0, 400.0, 600.0])
def test_side_by_side_not_looking_at_each_other(depth_cm: float) -> None:
    """Two people side by side a few metres from the camera, not turned to each other, are
    never "looking at each other", whatever the doubt about their distances."""
    for gap_cm in (40.0, 60.0, 80.0):
        for turn_deg in (0.0, 20.0, 180.0):  # facing the camera, a little toward, away
            a = _placed(-gap_cm / 2, 0.0, depth_cm, turn_deg)
            b = _placed(gap_cm / 2, 0.0, depth_cm, -turn_deg)
            assert looking_at(a, b, CFG) is False, (depth_cm, gap_cm, turn_deg)
            assert looking_at(b, a, CFG) is False, (depth_cm, gap_cm, turn_deg)


def test_the_face_gets_no_depth_doubt() -> None:
    # at 4 m, 60 cm apart: a gaze 25° off the lens toward the other is not at their head
    g = (math.sin(math.radians(25)), 0.0, math.cos(math.radians(25)))
    a = PersonSample(0.0, True, head_yaw_deg=20.0, head_xyz_cm=(-30.0, 0.0, -400.0), gaze_xyz=g)
    b = _placed(30.0, 0.0, 400.0, -90.0)
    assert looking_at(a, b, CFG) is False


def test_profiles_turned_to_each_other_despite_depth_doubt() -> None:
    # a metre from the camera, 50 cm apart, turned to each other; the right one placed 20 cm
    # further than they are (a face and a body estimate disagreeing by that much)
    a = _placed(-25.0, 0.0, 100.0, 80.0)
    b = _placed(25.0, 0.0, 120.0, -85.0)
    assert looking_at(a, b, CFG) is True and looking_at(b, a, CFG) is True
    # and without the doubt the first would miss the other's head
    assert looking_at(a, b, replace(CFG, depth_uncertainty_share=0.0)) is False


def test_the_body_direction_ignores_height() -> None:
    # the other's head 50 cm higher (standing by someone seated): the body model gives no
    # up-down, so only the horizontal direction is compared
    a = _placed(-35.0, 0.0, 150.0, 90.0)
    b = _placed(35.0, 50.0, 150.0, -90.0)
    assert looking_at(a, b, CFG) is True


def test_share_judged_from_the_head_direction() -> None:
    right = _person(body(-90.0, at_px=(390.0, 400.0)))
    by_face = _person(body(85.0, at_px=(250.0, 400.0)), gaze=(1.0, 0.0, 0.0), head_yaw_deg=30.0)
    by_body = _person(body(85.0, at_px=(250.0, 400.0)))
    unmeasured = PersonSample(time_s=0.0, face_visible=False)
    share = judge_looking([by_face, by_body, by_body, unmeasured], [right] * 4, CFG)[1]
    assert share == pytest.approx(2 / 3)
    assert judge_looking([unmeasured], [right], CFG)[1] is None


def test_the_body_direction_follows_the_face_on_real_head_turns(model_paths: ModelPaths) -> None:
    """On a person turning their head from side to side, the body model's head turn follows
    the face model's (measured over the talking clips: r 0.70, 0.93-0.95 where heads turn)."""
    import av

    from analyzer.landmarks import LandmarkerOptions, SceneLandmarker
    from analyzer.people import dedupe_faces, dedupe_poses, pair_faces_with_poses
    from analyzer.signals.head import head_pose
    from analyzer.types import Frame

    path = media("talking/npg_head_turning.mp4")
    face_yaw, body_yaw = [], []
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        region = Region(0, 0, v.width, v.height)
        opts = LandmarkerOptions.for_analysis(
            model_paths,
            AnalyzerConfig(),
            video=False,
            people_per_region=1,
        )
        with SceneLandmarker(opts, (region,)) as lm:
            for i, fr in enumerate(c.decode(video=0)):
                if i % 6:
                    continue
                obs = lm.observe(Frame(index=i, timestamp_ms=i, rgb=fr.to_ndarray(format="rgb24")))
                for d in pair_faces_with_poses(dedupe_faces(obs.faces), dedupe_poses(obs.poses)):
                    if d.face is None or d.pose is None:
                        continue
                    b = facing_yaw_deg(d.pose)
                    if b is not None:
                        face_yaw.append(head_pose(d.face.rotation).yaw_deg)
                        body_yaw.append(b)
    assert len(face_yaw) >= 30
    assert float(np.ptp(face_yaw)) > 40  # the clip does turn the head both ways
    assert float(np.corrcoef(face_yaw, body_yaw)[0, 1]) >= 0.9
