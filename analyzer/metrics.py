"""From one person's samples to presence metrics: ratios with coverage, bouts, episodes, nods.

Every analyzed frame stands for the time until the next one, so ratios are shares of *time*
even when frames are unevenly spaced. A ratio counts only time where its signal was measured;
``coverage`` is that measured time over the whole session. Short unmeasured gaps (a blink, one
lost frame) up to ``EpisodeConfig.bridge_gap_s`` do not break a bout or an episode.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analyzer.config import AnalyzerConfig, EpisodeConfig
from analyzer.signals.head import detect_nods
from analyzer.types import (
    AttentionMetrics,
    BoutStats,
    Episode,
    ExpressivenessMetrics,
    EyeContactMetrics,
    HeadMetrics,
    Nod,
    PersonSample,
    PostureMetrics,
    PresenceMetrics,
    ScreenTarget,
)

# A frame's eye-contact call made with less confidence than this is a close call.
CLOSE_CALL = 0.8


def frame_durations(times_s: Sequence[float], nominal_dt_s: float) -> list[float]:
    """How long each analyzed frame stands for: the gap to the next one (capped at 3 periods)."""
    n = len(times_s)
    if n == 0:
        return []
    out = [min(times_s[i + 1] - times_s[i], 3 * nominal_dt_s) for i in range(n - 1)]
    out.append(nominal_dt_s)
    return out


@dataclass(frozen=True)
class Run:
    state: bool
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def runs(
    values: Sequence[bool | None],
    times_s: Sequence[float],
    durations_s: Sequence[float],
    bridge_gap_s: float,
) -> list[Run]:
    """Maximal runs of equal measured values; unmeasured gaps up to ``bridge_gap_s`` between two
    runs of the same state are absorbed, longer gaps (or a change of state) end a run."""
    out: list[Run] = []
    cur: Run | None = None
    gap_start: float | None = None
    for v, t, d in zip(values, times_s, durations_s, strict=True):
        if v is None:
            if cur is not None and gap_start is None:
                gap_start = t
            if cur is not None and gap_start is not None and t + d - gap_start > bridge_gap_s:
                out.append(cur)
                cur, gap_start = None, None
            continue
        if cur is not None and v == cur.state:
            cur = Run(cur.state, cur.start_s, t + d)
        else:
            if cur is not None:
                out.append(cur)
            cur = Run(v, t, t + d)
        gap_start = None
    if cur is not None:
        out.append(cur)
    return out


def ratio_and_coverage(
    values: Sequence[bool | float | None], durations_s: Sequence[float]
) -> tuple[float | None, float]:
    """Time-weighted mean of the measured values (True = 1), and the share of time measured."""
    total = float(sum(durations_s))
    measured = [(float(v), d) for v, d in zip(values, durations_s, strict=True) if v is not None]
    m = sum(d for _, d in measured)
    coverage = m / total if total > 0 else 0.0
    if m <= 0:
        return None, coverage
    return sum(v * d for v, d in measured) / m, coverage


def episodes(rs: Sequence[Run], state: bool, min_s: float) -> tuple[Episode, ...]:
    return tuple(
        Episode(start_s=round(r.start_s, 3), end_s=round(r.end_s, 3))
        for r in rs
        if r.state == state and r.duration_s >= min_s - 1e-9
    )


def bout_stats(rs: Sequence[Run]) -> BoutStats:
    d = [r.duration_s for r in rs if r.state]
    if not d:
        return BoutStats(count=0, median_s=None, longest_s=None)
    return BoutStats(
        count=len(d), median_s=round(statistics.median(d), 3), longest_s=round(max(d), 3)
    )


def person_nods(samples: Sequence[PersonSample], cfg: AnalyzerConfig) -> list[Nod] | None:
    """The nods in a person's head-pitch signal; None (not measurable) with less head-pose time
    than ``nod_min_measured_s``. The one source of nods for the report, HTML and ELAN files."""
    ep = cfg.episodes
    times = [s.time_s for s in samples]
    dts = frame_durations(times, 1.0 / cfg.analysis_fps)
    _, cov = ratio_and_coverage([None if s.head_pitch_deg is None else True for s in samples], dts)
    if cov * float(sum(dts)) < ep.nod_min_measured_s:
        return None
    return detect_nods(
        np.asarray(times, dtype=np.float64),
        np.array([np.nan if s.head_pitch_deg is None else s.head_pitch_deg for s in samples]),
        yaw_deg=np.array([np.nan if s.head_yaw_deg is None else s.head_yaw_deg for s in samples]),
        min_amplitude_deg=ep.nod_min_amplitude_deg,
        max_duration_s=ep.nod_max_duration_s,
    )


def person_metrics(
    samples: Sequence[PersonSample],
    cfg: AnalyzerConfig,
    screen_target: ScreenTarget | None = None,
) -> PresenceMetrics:
    times = [s.time_s for s in samples]
    dts = frame_durations(times, 1.0 / cfg.analysis_fps)
    ep: EpisodeConfig = cfg.episodes

    face_ratio, _ = ratio_and_coverage([s.face_visible for s in samples], dts)

    ec = [s.eye_contact for s in samples]
    ec_ratio, ec_cov = ratio_and_coverage(ec, dts)
    ec_runs = runs(ec, times, dts, ep.bridge_gap_s)
    close, _ = ratio_and_coverage(
        [
            None if s.eye_contact_confidence is None else s.eye_contact_confidence < CLOSE_CALL
            for s in samples
        ],
        dts,
    )

    att_ratio, att_cov = ratio_and_coverage([s.on_screen for s in samples], dts)
    t = screen_target
    attention = AttentionMetrics(
        ratio=_r(att_ratio),
        coverage=_r(att_cov) or 0.0,
        target_yaw_deg=None if t is None else t.yaw_deg,
        target_pitch_deg=None if t is None else t.pitch_deg,
        calibration_confidence=None if t is None else t.confidence,
        same_as_camera=None if t is None else t.is_camera(cfg.gaze.eye_contact_tolerance_deg),
    )

    down_runs = runs([s.looking_down for s in samples], times, dts, ep.bridge_gap_s)

    crossed = [s.arms_crossed for s in samples]
    crossed_ratio, posture_cov = ratio_and_coverage(crossed, dts)
    crossed_runs = runs(crossed, times, dts, ep.bridge_gap_s)
    openness, _ = ratio_and_coverage([s.openness for s in samples], dts)

    expr, expr_cov = ratio_and_coverage([s.expressiveness for s in samples], dts)
    smile_flags = [
        None if s.smile is None else s.smile >= cfg.expression.smile_threshold for s in samples
    ]
    smile_ratio, _ = ratio_and_coverage(smile_flags, dts)

    head_measured = [None if s.head_pitch_deg is None else True for s in samples]
    _, head_cov = ratio_and_coverage(head_measured, dts)
    head_minutes = head_cov * float(sum(dts)) / 60.0
    nods = person_nods(samples, cfg)
    if nods is not None:
        nod_count: int | None = len(nods)
        per_min = round(len(nods) / head_minutes, 2) if head_minutes > 0 else None
    else:
        nod_count, per_min = None, None

    return PresenceMetrics(
        face_visible_ratio=_r(face_ratio) or 0.0,
        eye_contact=EyeContactMetrics(
            ratio=_r(ec_ratio),
            coverage=_r(ec_cov) or 0.0,
            bouts=bout_stats(ec_runs),
            look_away_episodes=episodes(ec_runs, False, ep.look_away_min_s),
            staring_episodes=episodes(ec_runs, True, ep.staring_min_s),
            close_calls=_r(close),
        ),
        attention=attention,
        posture=PostureMetrics(
            arms_crossed_ratio=_r(crossed_ratio),
            openness=_r(openness),
            coverage=_r(posture_cov) or 0.0,
            crossed_episodes=episodes(crossed_runs, True, ep.arms_crossed_min_s),
        ),
        expressiveness=ExpressivenessMetrics(
            score=_r(expr), smile_ratio=_r(smile_ratio), coverage=_r(expr_cov) or 0.0
        ),
        head=HeadMetrics(
            nods=nod_count,
            nods_per_min=per_min,
            coverage=_r(head_cov) or 0.0,
            nod_list=tuple(nods or ()),
        ),
        looking_down_episodes=episodes(down_runs, True, ep.looking_down_min_s),
    )


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)
