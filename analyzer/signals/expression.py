"""Facial expressiveness: how much and how strongly a person's face changes shape against
their own resting face, and smiling.

Definition. Each frame's 3D face mesh (``FaceObservation.landmarks_xy`` and ``landmarks_z``)
is put in the pose of MediaPipe's canonical face (a similarity fit on ``STABLE_POINTS``:
forehead, nose bridge and temples, which expressions hardly move), so what is left is the face's
own movement, in the canonical face's centimetres. The shape of ``EXPRESSION_POINTS`` (brows,
eyelids, the mouth's corners with the lip points beside them, nose wings, cheeks: what people
read expressions from) is compared with the person's neutral: each coordinate's median over the
session (``NeutralFace``). The inner lips and the jaw, which move with speech, are left out; the
points beside the mouth corners move some with speech too, and blinks move the eyelids (both
kept: leaving them out did worse on the dev clips, 0.72). A frame's deformation is the sum over
the five groups of their points' mean distance from the neutral, and its expressiveness

    1 - exp(-max(0, deformation - dead_zone) / scale)

is 0 at rest and approaches 1 for a very animated face. Dead zone and scale were chosen on the
dev clip-persons of the rated expressiveness set (docs/accuracy.md): the dead zone near the 5th
percentile of their frames' deformation (the landmarks' jitter on a face at rest), the scale so
that their 90th percentile scores about 1 - 1/e. The neutral is the median (not a low
percentile as for blendshapes, which only grow from rest: a shape moves both ways). The
session's score is the mean over frames: a face that keeps changing scores high, one that holds
one expression (a steady smile) low, as the raters' protocol asks.

The earlier measure (activation of emotion blendshapes above the person's 30th percentile)
ranked the rated clips at Spearman 0.15 on dev: MediaPipe's blendshapes move with speech and
stay high on a face that is animated all along; the mesh's shape does neither as much.
``smile`` is the mean of the two ``mouthSmile`` blendshapes (0-1), not relative to neutral.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from analyzer.types import FaceObservation, FloatArray

# MediaPipe's canonical face (canonical_face_model.obj of its face geometry module, Apache 2.0;
# read from geometry_pipeline_metadata_landmarks.binarypb in face_landmarker.task): these
# points, in cm, x to the face's left-to-right, y up, z toward the viewer.
STABLE_POINTS: dict[int, tuple[float, float, float]] = {
    10: (0.000, 8.262, 4.482),
    151: (0.000, 6.545, 5.027),
    9: (0.000, 4.886, 5.385),
    8: (0.000, 4.019, 5.285),
    168: (0.000, 3.271, 5.236),
    6: (0.000, 2.473, 5.789),
    197: (0.000, 1.728, 6.317),
    195: (0.000, 1.059, 6.775),
    5: (0.000, 0.366, 7.243),
    4: (0.000, -0.463, 7.587),
    127: (-7.743, 2.365, -2.005),
    356: (7.743, 2.365, -2.005),
    234: (-7.664, 0.673, -2.436),
    454: (7.664, 0.673, -2.436),
    21: (-7.088, 5.435, 0.100),
    251: (7.088, 5.435, 0.100),
    54: (-6.279, 6.615, 1.426),
    284: (6.279, 6.615, 1.426),
    103: (-5.133, 7.486, 2.660),
    332: (5.133, 7.486, 2.660),
    162: (-7.556, 4.107, -0.992),
    389: (7.556, 4.107, -0.992),
}
_STABLE = np.array(list(STABLE_POINTS), dtype=np.int64)
_CANONICAL = np.array(list(STABLE_POINTS.values()), dtype=np.float64)

EXPRESSION_POINTS: dict[str, tuple[int, ...]] = {
    "brows": (
        70,
        63,
        105,
        66,
        107,
        55,
        65,
        52,
        53,
        46,
        300,
        293,
        334,
        296,
        336,
        285,
        295,
        282,
        283,
        276,
    ),
    "eyelids": (159, 145, 158, 153, 160, 144, 386, 374, 385, 380, 387, 373),
    # the corners and, beside them, two points of each lip (39/269 upper, 181/405 lower):
    # smiles, pouts, pursed and twisted lips (they also move some with speech)
    "mouth_corners": (61, 291, 39, 269, 181, 405),
    "nose": (129, 358, 64, 294, 98, 327),
    "cheeks": (50, 280, 205, 425, 116, 345),
}
_POINTS = np.array([i for g in EXPRESSION_POINTS.values() for i in g], dtype=np.int64)
# each point's share of its group's mean
_WEIGHTS = np.concatenate([np.full(len(g), 1.0 / len(g)) for g in EXPRESSION_POINTS.values()])
# Aligned coordinates stay within this many cm of the canonical face's origin (NeutralFace's
# histogram range; the canonical face spans about +-8 cm).
SHAPE_RANGE_CM = (-16.0, 16.0)
N_SHAPE_FEATURES = 3 * len(_POINTS)


def _similarity(
    src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64]
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Scale, rotation and translation that best map ``src`` onto ``dst`` (Umeyama, 1991)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    u, sv, vt = np.linalg.svd(d.T @ s)
    flip = np.eye(3)
    flip[2, 2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ flip @ vt
    var = float((s**2).sum())
    scale = float((sv * np.diag(flip)).sum()) / var if var > 0 else 1.0
    return scale, rot, mu_d - scale * rot @ mu_s


def face_shape(face: FaceObservation) -> FloatArray | None:
    """The face's expression points in the canonical face's pose and size (cm), flattened
    (x, y, z of each point); None without depth."""
    if face.landmarks_z is None:
        return None
    pts = np.column_stack([face.landmarks_xy, face.landmarks_z]).astype(np.float64)
    pts[:, 1] *= -1.0  # image y runs down; the canonical face's y runs up
    scale, rot, shift = _similarity(pts[_STABLE], _CANONICAL)
    aligned = scale * pts[_POINTS] @ rot.T + shift
    out: FloatArray = aligned.astype(np.float32).ravel()
    return out


def deformation(shape: FloatArray, neutral: FloatArray) -> FloatArray:
    """How far each shape (one row per frame, or a single vector) is from the neutral: the sum
    over the point groups of their points' mean distance (cm)."""
    diff = (np.asarray(shape) - neutral).reshape(*np.shape(shape)[:-1], len(_POINTS), 3)
    out: FloatArray = (np.linalg.norm(diff, axis=-1) @ _WEIGHTS).astype(np.float32)
    return out


def neutral_baseline(
    features: FloatArray, percentile: float, value_range: tuple[float, float] = SHAPE_RANGE_CM
) -> FloatArray:
    """Per-feature neutral from an (n_frames, n_features) array."""
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"need a non-empty (n_frames, n_features) array, got {features.shape}")
    face = NeutralFace(features.shape[1], value_range)
    for row in features:
        face.add(row)
    return face.neutral(percentile)


class NeutralFace:
    """A person's neutral face as the session goes: a percentile of each feature over every
    frame so far, kept as a histogram per feature (``BINS`` bins over ``value_range``; values
    outside count in the end bins), so memory stays the same however long the session (exact
    to a bin: 0.016 cm for the face shape)."""

    BINS = 2000

    def __init__(
        self,
        n_features: int = N_SHAPE_FEATURES,
        value_range: tuple[float, float] = SHAPE_RANGE_CM,
    ) -> None:
        self.lo, self.hi = value_range
        if not self.hi > self.lo:
            raise ValueError(f"empty value range {value_range}")
        self.counts = np.zeros((n_features, self.BINS), np.int32)
        self.frames = 0

    def add(self, features: FloatArray) -> None:
        unit = (np.asarray(features, np.float64) - self.lo) / (self.hi - self.lo)
        bins = np.clip((unit * self.BINS).astype(np.int64), 0, self.BINS - 1)
        self.counts[np.arange(len(bins)), bins] += 1
        self.frames += 1

    def neutral(self, percentile: float) -> FloatArray:
        """Each feature's ``percentile`` (0-100) over the frames added, as ``numpy.percentile``
        defines it (linear between the order statistics either side); raises ValueError when
        nothing was added."""
        if self.frames == 0:
            raise ValueError("no frames added")
        rank = percentile / 100.0 * (self.frames - 1)
        lo, frac = int(rank), rank - int(rank)
        hi = min(lo + 1, self.frames - 1)
        cum = np.cumsum(self.counts, axis=1, dtype=np.int32)  # int32: 20x faster
        a, b = self._order_statistic(cum, lo), self._order_statistic(cum, hi)
        out: FloatArray = (a + frac * (b - a)).astype(np.float32)
        return out

    def _order_statistic(self, cum: npt.NDArray[np.integer], i: int) -> npt.NDArray[np.float64]:
        """Each feature's i-th smallest value (0-based): the values in a bin are taken as
        spread evenly across it."""
        rows = np.arange(len(cum))
        b = np.argmax(cum > i, axis=1)  # the first bin whose count takes in value i
        below = np.where(b > 0, cum[rows, np.maximum(b - 1, 0)], 0)
        inside = self.counts[rows, b]
        unit = (b + (i - below + 0.5) / inside) / self.BINS
        out: npt.NDArray[np.float64] = self.lo + unit * (self.hi - self.lo)
        return out


def expressiveness(
    shape: FloatArray, neutral: FloatArray, scale: float, dead_zone: float
) -> FloatArray:
    """Expressiveness 0-1 for each row of ``shape`` (one row per frame, or a single vector)."""
    excess = np.clip(deformation(shape, neutral) - dead_zone, 0.0, None)
    out: FloatArray = (1.0 - np.exp(-excess / scale)).astype(np.float32)
    return out


def smile(blendshapes: Mapping[str, float]) -> float:
    return (blendshapes.get("mouthSmileLeft", 0.0) + blendshapes.get("mouthSmileRight", 0.0)) / 2.0
