"""Facial expressiveness relative to the person's own neutral face, and smiling.

Definition. From the 52 MediaPipe blendshapes we keep the ones that carry emotion and leave out
those that mostly move with speech (jaw opening, lip rolling, funnelling, puckering, stretching,
pressing, dimpling, sideways mouth, upper/lower lip raising) and with gaze or blinking. Left/right
pairs are averaged, giving 10 features: brows down / inner up / outer up, cheek squint, cheek
puff, eye squint, eye wide, smile, frown, nose sneer. (Pressing, dimpling and sideways mouth were
dropped after they ranked calm talkers above animated faces on the dev clips.) The person's
neutral is a low percentile of each feature over the session (their face at rest, whatever its
shape), and a frame's expressiveness is

    1 - exp(-sum_k max(0, feature_k - neutral_k - dead_zone) / scale)

which is 0 at rest and approaches 1 for a very animated face. The dead zone keeps the
frame-to-frame jitter of the blendshapes (a few hundredths on each of 10 features) from adding up
to a score. The percentile, dead zone and scale were chosen on the dev clips (docs/accuracy.md).
``smile`` is the mean of the two ``mouthSmile`` blendshapes (0-1), not relative to
neutral.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from analyzer.types import FloatArray

EXPRESSION_FEATURES: tuple[tuple[str, ...], ...] = (
    ("browDownLeft", "browDownRight"),
    ("browInnerUp",),
    ("browOuterUpLeft", "browOuterUpRight"),
    ("cheekSquintLeft", "cheekSquintRight"),
    ("cheekPuff",),
    ("eyeSquintLeft", "eyeSquintRight"),
    ("eyeWideLeft", "eyeWideRight"),
    ("mouthSmileLeft", "mouthSmileRight"),
    ("mouthFrownLeft", "mouthFrownRight"),
    ("noseSneerLeft", "noseSneerRight"),
)


def expression_features(blendshapes: Mapping[str, float]) -> FloatArray:
    return np.array(
        [np.mean([blendshapes.get(n, 0.0) for n in names]) for names in EXPRESSION_FEATURES],
        dtype=np.float32,
    )


def neutral_baseline(features: FloatArray, percentile: float) -> FloatArray:
    """Per-feature neutral from an (n_frames, n_features) array."""
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"need a non-empty (n_frames, n_features) array, got {features.shape}")
    face = NeutralFace(features.shape[1])
    for row in features:
        face.add(row)
    return face.neutral(percentile)


class NeutralFace:
    """A person's neutral face as the session goes: a low percentile of each feature over every
    frame so far, kept as a histogram per feature (``BINS`` bins over 0-1, blendshapes' range),
    so memory stays the same however long the session (exact to a bin, 0.0005)."""

    BINS = 2000

    def __init__(self, n_features: int = len(EXPRESSION_FEATURES)) -> None:
        self.counts = np.zeros((n_features, self.BINS), np.int64)
        self.frames = 0

    def add(self, features: FloatArray) -> None:
        bins = np.clip((features * self.BINS).astype(np.int64), 0, self.BINS - 1)
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
        cum = np.cumsum(self.counts, axis=1)
        out = np.empty(len(cum), np.float32)
        for k, c in enumerate(cum):
            a, b = self._order_statistic(c, k, lo), self._order_statistic(c, k, hi)
            out[k] = a + frac * (b - a)
        return out

    def _order_statistic(self, cum: npt.NDArray[np.int64], feature: int, i: int) -> float:
        """The i-th smallest value (0-based) of a feature: the values in a bin are taken as
        spread evenly across it."""
        b = int(np.searchsorted(cum, i, side="right"))
        below = int(cum[b - 1]) if b > 0 else 0
        inside = int(self.counts[feature, b])
        return (b + (i - below + 0.5) / inside) / self.BINS


def expressiveness(
    features: FloatArray, neutral: FloatArray, scale: float, dead_zone: float
) -> FloatArray:
    """Expressiveness 0-1 for each row of ``features`` (one row per frame, or a single vector)."""
    excess = np.clip(features - neutral - dead_zone, 0.0, None).sum(axis=-1)
    out: FloatArray = (1.0 - np.exp(-excess / scale)).astype(np.float32)
    return out


def smile(blendshapes: Mapping[str, float]) -> float:
    return (blendshapes.get("mouthSmileLeft", 0.0) + blendshapes.get("mouthSmileRight", 0.0)) / 2.0
