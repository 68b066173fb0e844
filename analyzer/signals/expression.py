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
    out: FloatArray = np.percentile(features, percentile, axis=0).astype(np.float32)
    return out


def expressiveness(
    features: FloatArray, neutral: FloatArray, scale: float, dead_zone: float
) -> FloatArray:
    """Expressiveness 0-1 for each row of ``features`` (one row per frame, or a single vector)."""
    excess = np.clip(features - neutral - dead_zone, 0.0, None).sum(axis=-1)
    out: FloatArray = (1.0 - np.exp(-excess / scale)).astype(np.float32)
    return out


def smile(blendshapes: Mapping[str, float]) -> float:
    return (blendshapes.get("mouthSmileLeft", 0.0) + blendshapes.get("mouthSmileRight", 0.0)) / 2.0
