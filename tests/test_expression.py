"""Expressiveness: the face's own movement against its neutral shape (pure geometry on
synthetic meshes; the measure on real clips is scored in tests/test_accuracy.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from analyzer.geometry import camera_for
from analyzer.signals.expression import (
    EXPRESSION_POINTS,
    N_SHAPE_FEATURES,
    STABLE_POINTS,
    NeutralFace,
    deformation,
    expressiveness,
    face_shape,
    neutral_baseline,
    smile,
)
from analyzer.types import FaceObservation, Region

FRAME = Region(0, 0, 640, 480)
SCALE = 1.5
DEAD_ZONE = 0.5


def _mesh(seed: int = 0) -> np.ndarray:
    """A face mesh in the canonical face's frame (cm; y up, z toward the viewer): the stable
    points where the canonical face has them, every other point somewhere on the face."""
    rng = np.random.default_rng(seed)
    pts = np.column_stack(
        [rng.uniform(-6, 6, 478), rng.uniform(-7, 8, 478), rng.uniform(0, 6, 478)]
    )
    for i, p in STABLE_POINTS.items():
        pts[i] = p
    return pts


def _seen(
    mesh: np.ndarray,
    rotation_deg: tuple[float, float, float],
    scale_px: float,
    at_px: tuple[float, float],
) -> FaceObservation:
    """The mesh turned, scaled to pixels and placed in the frame as the face model reports it
    (image y down; depth toward the camera)."""
    rot = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix()
    p = mesh @ rot.T * scale_px
    xy = np.column_stack([p[:, 0] + at_px[0], -p[:, 1] + at_px[1]]).astype(np.float32)
    return FaceObservation(
        landmarks_xy=xy,
        blendshapes={},
        rotation=np.eye(3),
        camera=camera_for(FRAME, 63.0),
        region=FRAME,
        landmarks_z=p[:, 2].astype(np.float32),
    )


def _shape(
    mesh: np.ndarray,
    rotation_deg: tuple[float, float, float] = (0, 0, 0),
    scale_px: float = 10.0,
    at_px: tuple[float, float] = (320, 240),
) -> np.ndarray:
    shape = face_shape(_seen(mesh, rotation_deg, scale_px, at_px))
    assert shape is not None
    return shape


def _moved(mesh: np.ndarray, group: str, by_cm: tuple[float, float, float]) -> np.ndarray:
    out: np.ndarray = mesh.copy()
    out[list(EXPRESSION_POINTS[group])] += by_cm
    return out


def test_head_pose_size_and_place_are_not_expression() -> None:
    mesh = _mesh()
    a = face_shape(_seen(mesh, (0, 0, 0), 10.0, (320, 240)))
    b = face_shape(_seen(mesh, (15, -30, 10), 4.0, (100, 380)))
    assert a is not None and b is not None and a.shape == (N_SHAPE_FEATURES,)
    assert float(deformation(b, a)) == pytest.approx(0.0, abs=1e-3)


def test_without_depth_the_shape_is_not_measured() -> None:
    seen = _seen(_mesh(), (0, 0, 0), 10.0, (320, 240))
    flat = FaceObservation(
        landmarks_xy=seen.landmarks_xy,
        blendshapes={},
        rotation=np.eye(3),
        camera=seen.camera,
        region=FRAME,
    )
    assert face_shape(flat) is None


def test_raised_brows_are_measured_whatever_the_head_pose() -> None:
    mesh = _mesh()
    neutral = face_shape(_seen(mesh, (0, 0, 0), 10.0, (320, 240)))
    raised = face_shape(_seen(_moved(mesh, "brows", (0, 0.8, 0)), (10, 25, -5), 6.0, (200, 200)))
    assert neutral is not None and raised is not None
    # each brow point 0.8 cm up: the brow group's mean distance, the other groups still
    assert float(deformation(raised, neutral)) == pytest.approx(0.8, abs=0.02)


def test_speech_points_do_not_count() -> None:
    mesh = _mesh()
    talking = mesh.copy()
    # a jaw opening in speech: the inner lips, the middle of the outer lips and the chin (the
    # corners and the lip points beside them count: they carry pouts and smiles)
    talking[[0, 13, 37, 267, 82, 312, 80, 310]] += (0, -0.3, 0)
    talking[[14, 17, 84, 314, 87, 317, 178, 402, 152, 148, 377]] += (0, -1.5, 0)
    a = face_shape(_seen(mesh, (0, 0, 0), 10.0, (320, 240)))
    b = face_shape(_seen(talking, (0, 0, 0), 10.0, (320, 240)))
    assert a is not None and b is not None
    assert float(deformation(b, a)) == pytest.approx(0.0, abs=1e-3)


def test_expressiveness_is_zero_at_own_neutral_and_grows_with_expression() -> None:
    mesh = _mesh()
    rest = [_shape(mesh, (0, 5 * k, 0)) for k in range(8)]
    brows = _shape(_moved(mesh, "brows", (0, 0.8, 0)))
    grin = _moved(_moved(mesh, "mouth_corners", (0.6, 0.9, 0)), "cheeks", (0, 0.8, 0.3))
    big = _shape(grin)
    frames = np.stack([*rest, brows, big])
    neutral = neutral_baseline(frames, 50)
    e = expressiveness(frames, neutral, SCALE, DEAD_ZONE)
    assert e[0] == pytest.approx(0.0, abs=1e-6)  # their resting face, whatever its shape
    assert 0.0 < e[8] < e[9] < 1.0  # raised brows < a broad grin with raised cheeks


def test_a_changing_face_ranks_above_one_holding_an_expression() -> None:
    """The raters' protocol: a face that holds one mild expression throughout is less animated
    than one whose expression keeps changing."""
    mesh = _mesh()
    smiling = _moved(mesh, "mouth_corners", (0.4, 0.5, 0))
    held = np.stack([_shape(smiling)] * 30)
    groups = list(EXPRESSION_POINTS)
    changing = np.stack(
        [_shape(_moved(mesh, groups[k % 5], (0, 0.6 * (k % 3), 0))) for k in range(30)]
    )
    score_held = expressiveness(held, neutral_baseline(held, 50), SCALE, DEAD_ZONE).mean()
    score_changing = expressiveness(
        changing, neutral_baseline(changing, 50), SCALE, DEAD_ZONE
    ).mean()
    assert score_held == pytest.approx(0.0, abs=1e-6)
    assert score_changing > 0.1


def test_baseline_needs_frames() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        neutral_baseline(np.zeros((0, N_SHAPE_FEATURES), np.float32), 50)


def test_smile_is_mean_of_both_sides() -> None:
    assert smile({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.6}) == pytest.approx(0.7)
    assert smile({}) == 0.0


@pytest.mark.parametrize("n", [1, 2, 7, 300, 5000])
@pytest.mark.parametrize("percentile", [0.0, 20.0, 50.0, 100.0])
def test_neutral_face_is_the_percentile_in_fixed_memory(n: int, percentile: float) -> None:
    """The neutral is kept as a histogram (the same size for a minute or a day of face) and
    agrees with numpy's percentile to within half a bin."""
    rng = np.random.default_rng(n)
    frames = np.clip(rng.normal(0.0, 4.0, (n, 12)), -15.9, 15.9).astype(np.float32)
    face = NeutralFace(12, (-16.0, 16.0))
    size = face.counts.nbytes
    for row in frames:
        face.add(row)
    assert face.counts.nbytes == size
    expected = np.percentile(frames, percentile, axis=0)
    half_bin = 0.5 * 32.0 / NeutralFace.BINS
    assert np.abs(face.neutral(percentile) - expected).max() <= half_bin + 1e-5
