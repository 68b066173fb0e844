"""Ratios with coverage, runs with bridged gaps, bouts and episodes, on synthetic samples."""

from __future__ import annotations

import pytest

from analyzer.config import AnalyzerConfig, EpisodeConfig
from analyzer.metrics import frame_durations, person_metrics, ratio_and_coverage, runs
from analyzer.types import PersonSample

FPS = 10.0


def timeline(pattern: str, fps: float = FPS) -> list[PersonSample]:
    """One sample per character: C contact, A away, . not measurable (face gone)."""
    out = []
    for i, ch in enumerate(pattern):
        t = i / fps
        if ch == ".":
            out.append(PersonSample(time_s=t, face_visible=False))
        else:
            out.append(
                PersonSample(
                    time_s=t,
                    face_visible=True,
                    eye_contact=ch == "C",
                    head_pitch_deg=0.0,
                    head_yaw_deg=0.0,
                )
            )
    return out


def test_ratio_counts_only_measured_time_and_coverage_says_how_much() -> None:
    ratio, coverage = ratio_and_coverage([True, None, False, None], [1, 1, 1, 1])
    assert ratio == pytest.approx(0.5)
    assert coverage == pytest.approx(0.5)
    assert ratio_and_coverage([None, None], [1, 1]) == (None, 0.0)


def test_frame_durations_follow_real_gaps() -> None:
    d = frame_durations([0.0, 0.1, 0.3, 5.0], 0.1)
    assert d == pytest.approx([0.1, 0.2, 0.3, 0.1])  # the long gap is capped at 3 periods


def test_short_gaps_are_bridged_and_long_gaps_break_runs() -> None:
    t = [i / FPS for i in range(12)]
    d = [0.1] * 12
    values: list[bool | None] = [True] * 4 + [None] * 2 + [True] * 2 + [None] * 4
    rs = runs(values, t, d, bridge_gap_s=0.5)
    assert len(rs) == 1 and rs[0].state is True
    assert rs[0].start_s == pytest.approx(0.0)
    assert rs[0].end_s == pytest.approx(0.8)
    values = [True] * 3 + [None] * 7 + [True] * 2
    assert len(runs(values, t, d, bridge_gap_s=0.5)) == 2


def test_eye_contact_metrics_from_a_known_timeline() -> None:
    # 3 s contact, 2.5 s away, 0.3 s face lost (blink-length), 9 s contact, 1 s away
    pattern = "C" * 30 + "A" * 25 + "..." + "C" * 90 + "A" * 10
    cfg = AnalyzerConfig(episodes=EpisodeConfig(staring_min_s=8.0, look_away_min_s=2.0))
    m = person_metrics(timeline(pattern), cfg).eye_contact
    assert m.ratio == pytest.approx(120 / 155, abs=1e-3)
    assert m.coverage == pytest.approx(155 / 158, abs=1e-3)
    assert m.bouts.count == 2
    assert m.bouts.longest_s == pytest.approx(9.0, abs=0.01)
    assert [(e.start_s, e.end_s) for e in m.look_away_episodes] == [(3.0, 5.5)]
    assert len(m.staring_episodes) == 1
    assert m.staring_episodes[0].duration_s == pytest.approx(9.0, abs=0.01)


def test_nothing_measurable_is_none_not_zero() -> None:
    m = person_metrics(timeline("." * 50), AnalyzerConfig())
    assert m.eye_contact.ratio is None
    assert m.eye_contact.coverage == 0.0
    assert m.posture.arms_crossed_ratio is None
    assert m.expressiveness.score is None
    assert m.head.nods is None
    assert m.face_visible_ratio == 0.0
