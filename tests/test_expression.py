"""Expressiveness relative to a person's own neutral face, and what it leaves out."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.signals.expression import (
    EXPRESSION_FEATURES,
    NeutralFace,
    expression_features,
    expressiveness,
    neutral_baseline,
    smile,
)

SCALE = 0.6
DEAD_ZONE = 0.05


def test_speech_only_mouth_movement_does_not_count() -> None:
    rest = expression_features({})
    talking = expression_features(
        {
            "jawOpen": 0.8,
            "mouthFunnel": 0.5,
            "mouthPucker": 0.4,
            "mouthRollLower": 0.3,
            "mouthLowerDownLeft": 0.6,
            "mouthLowerDownRight": 0.6,
            "mouthStretchLeft": 0.3,
        }
    )
    np.testing.assert_array_equal(rest, talking)


def test_expressiveness_is_zero_at_own_neutral_and_grows_with_expression() -> None:
    resting_smiler = {"mouthSmileLeft": 0.3, "mouthSmileRight": 0.3, "browInnerUp": 0.2}
    frames = np.stack(
        [expression_features(resting_smiler)] * 8
        + [
            expression_features(
                {**resting_smiler, "browOuterUpLeft": 0.7, "browOuterUpRight": 0.7}
            ),
            expression_features(
                {
                    "mouthSmileLeft": 0.9,
                    "mouthSmileRight": 0.9,
                    "cheekSquintLeft": 0.6,
                    "cheekSquintRight": 0.6,
                    "browInnerUp": 0.2,
                }
            ),
        ]
    )
    neutral = neutral_baseline(frames, 20)
    e = expressiveness(frames, neutral, SCALE, DEAD_ZONE)
    assert e[0] == pytest.approx(0.0, abs=1e-6)  # their resting face, whatever its shape
    assert 0.0 < e[8] < e[9] < 1.0  # raised brows < a broad smile with squinted cheeks


def test_animated_face_ranks_above_calm_face() -> None:
    rng = np.random.default_rng(1)
    n = len(EXPRESSION_FEATURES)
    calm = np.clip(rng.normal(0.05, 0.02, (200, n)), 0, 1).astype(np.float32)
    animated = calm.copy()
    animated[::3] += rng.uniform(0.2, 0.6, (animated[::3].shape)).astype(np.float32)
    score_calm = expressiveness(calm, neutral_baseline(calm, 20), SCALE, DEAD_ZONE).mean()
    score_animated = expressiveness(
        animated, neutral_baseline(animated, 20), SCALE, DEAD_ZONE
    ).mean()
    assert score_animated > 2 * score_calm


def test_baseline_needs_frames() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        neutral_baseline(np.zeros((0, len(EXPRESSION_FEATURES)), np.float32), 20)


def test_smile_is_mean_of_both_sides() -> None:
    assert smile({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.6}) == pytest.approx(0.7)
    assert smile({}) == 0.0


@pytest.mark.parametrize("n", [1, 2, 7, 300, 5000])
@pytest.mark.parametrize("percentile", [0.0, 20.0, 30.0, 50.0, 100.0])
def test_neutral_face_is_the_percentile_in_fixed_memory(n: int, percentile: float) -> None:
    """The neutral is kept as a histogram (the same size for a minute or a day of face) and
    agrees with numpy's percentile to within half a bin."""
    rng = np.random.default_rng(n)
    frames = np.clip(rng.beta(0.8, 6.0, (n, len(EXPRESSION_FEATURES))), 0, 1).astype(np.float32)
    face = NeutralFace()
    size = face.counts.nbytes
    for row in frames:
        face.add(row)
    assert face.counts.nbytes == size
    expected = np.percentile(frames, percentile, axis=0)
    assert np.abs(face.neutral(percentile) - expected).max() <= 0.5 / NeutralFace.BINS + 1e-6
