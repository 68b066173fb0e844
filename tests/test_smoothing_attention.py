"""Smoothing over time and the self-calibrated screen target, on synthetic sequences."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.attention import find_screen_target, on_target
from analyzer.smoothing import CentredMajority, majority_smooth

FPS = 10.0


def seq(pattern: str) -> tuple[list[bool | None], list[float]]:
    values: list[bool | None] = [None if c == "." else c == "1" for c in pattern]
    return values, [i / FPS for i in range(len(pattern))]


def as_text(values: list[bool | None]) -> str:
    return "".join("." if v is None else "1" if v else "0" for v in values)


@pytest.mark.parametrize(
    ("pattern", "expected", "why"),
    [
        ("1111101111", "1111111111", "a one-frame flip is noise"),
        ("1111100000111", "1111100000111", "a 0.5 s glance away is real and kept"),
        ("11100111", "11100111", "two frames away (0.2 s) survive a 0.3 s window"),
        ("11.0.11", "11.0.11", "unmeasured frames stay unmeasured and do not vote"),
        ("1101.11", "1111.11", "a flip next to a gap is still outvoted by its measured neighbours"),
        ("10", "10", "ties keep the value"),
    ],
)
def test_majority_smoothing(pattern: str, expected: str, why: str) -> None:
    values, times = seq(pattern)
    assert as_text(majority_smooth(values, times, 0.3)) == expected, why


def test_streamed_smoothing_is_the_batch_smoothing_half_a_window_late() -> None:
    """Live and batch share one implementation: fed one value at a time, every value comes out
    as batch smoothing gives it, once a value more than half a window later has arrived, and
    only about a window of values is ever held."""
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.choice([0.033, 0.1, 0.1, 0.4], 5000)).tolist()
    values: list[bool | None] = [None if x < 0.1 else bool(x < 0.6) for x in rng.random(5000)]
    vote: CentredMajority[float] = CentredMajority(0.3)
    out: list[tuple[float, bool | None]] = []
    held = 0
    for t, v in zip(times, values, strict=True):
        for t_done, smoothed in vote.push(t, v, t):
            assert t - t_done > 0.15  # final only once its window has been seen
            out.append((t_done, smoothed))
        held = max(held, len(vote._items))
    out.extend(vote.flush())
    assert [t for t, _ in out] == times
    assert [s for _, s in out] == majority_smooth(values, times, 0.3)
    assert held <= 0.3 / 0.033 + 3


def test_smoothing_rejects_time_going_back() -> None:
    vote: CentredMajority[None] = CentredMajority(0.3)
    vote.push(1.0, True, None)
    with pytest.raises(ValueError, match="must not go back"):
        vote.push(0.5, True, None)


def test_smoothing_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        majority_smooth([True], [0.0, 0.1], 0.3)


def test_screen_target_found_below_the_camera() -> None:
    rng = np.random.default_rng(0)
    n = 900
    # 70% of the time on the partner's face, 12 degrees below the lens; 15% into the camera;
    # the rest glances around.
    k1, k2 = int(n * 0.7), int(n * 0.15)
    yaw = np.concatenate(
        [rng.normal(2, 2, k1), rng.normal(0, 2, k2), rng.uniform(-40, 40, n - k1 - k2)]
    )
    pitch = np.concatenate(
        [rng.normal(-12, 2, k1), rng.normal(0, 2, k2), rng.uniform(-40, 40, n - k1 - k2)]
    )
    t = find_screen_target(yaw, pitch, tolerance_deg=8.0)
    assert t is not None
    assert t.yaw_deg == pytest.approx(2, abs=1.5)
    assert t.pitch_deg == pytest.approx(-12, abs=1.5)
    assert 0.6 < t.share < 0.85
    assert t.confidence == pytest.approx(t.share, abs=0.01)  # 90 s of gaze: full weight
    assert not t.is_camera(camera_tolerance_deg=8.0)
    assert on_target(2.0, -10.0, t, 8.0) and not on_target(0.0, 0.0, t, 8.0)


def test_presenter_looking_into_the_lens_has_the_camera_as_target() -> None:
    rng = np.random.default_rng(1)
    t = find_screen_target(rng.normal(0, 3, 400), rng.normal(1, 3, 400), tolerance_deg=10.0)
    assert t is not None and t.is_camera(camera_tolerance_deg=10.0)


def test_scattered_or_scarce_gaze_gives_low_confidence_or_none() -> None:
    rng = np.random.default_rng(2)
    scattered = find_screen_target(rng.uniform(-40, 40, 600), rng.uniform(-40, 40, 600), 10.0)
    assert scattered is not None and scattered.confidence < 0.3
    assert find_screen_target([0.0] * 10, [0.0] * 10, 10.0) is None  # one second is not enough
