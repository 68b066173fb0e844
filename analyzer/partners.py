"""Two people together: who looks at whom, nonverbal synchrony, mirrored smiles, and moments of
connection (pure functions over the two partners' samples, aligned frame by frame).

* **Looking at the partner** (one room, one camera): a person's gaze ray, from their head's
  estimated 3D position, passes within ``partner_tolerance_deg`` of the partner's head. **Mutual
  gaze**: both at once. On a call (a gallery: each has their own camera) the partner sees eye
  contact only when one looks into one's own camera, so "mutual" there means both look into
  their cameras at once.
* **Synchrony** (as in Motion Energy Analysis / rMEA, Ramseyer & Tschacher): windowed,
  lagged cross-correlation of the two partners' head movement (angular speed) and of their
  expressiveness. The strength is the mean over windows of the best correlation within
  ``max_lag_s``; it is compared with surrogate pairs made by shuffling one partner's segments,
  so only synchrony above chance is called synchrony. ``lead_lag_s`` is the lag with the highest
  mean correlation: positive when person 1 leads (person 2 follows that many seconds later).
* **Mirroring**: a smile that the partner answers with a smile of their own within
  ``mirror_window_s``.
* **Moments of connection**: spans where both are engaged at once (mutual gaze, or both looking
  into their cameras) and share a positive expression (both smiling, or both more expressive
  than their own usual), at least ``min_moment_s`` long, ranked by length and warmth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analyzer.config import PartnerConfig
from analyzer.metrics import frame_durations, ratio_and_coverage, runs
from analyzer.types import Episode, PersonSample

Arr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Synchrony:
    score: float | None  # mean best-lag correlation over windows
    surrogate_mean: float | None
    surrogate_p95: float | None
    above_chance: bool | None
    lead_lag_s: float | None  # > 0: person 1 leads
    windows: int


@dataclass(frozen=True)
class Mirroring:
    person_id: int
    smiles: int  # smiles this person started
    answered: int  # of those, answered by the partner within the window
    answered_by_chance: float  # how many a partner smiling at random times would answer


@dataclass(frozen=True)
class ConnectionMoment:
    start_s: float
    end_s: float
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PartnerReport:
    ids: tuple[int, int]
    same_room: bool
    looking_at_partner: tuple[float | None, float | None]  # per person, room only
    mutual_gaze_ratio: float | None
    mutual_gaze_coverage: float
    mutual_gaze_episodes: tuple[Episode, ...]
    head_synchrony: Synchrony
    expression_synchrony: Synchrony
    mirroring: tuple[Mirroring, Mirroring]
    moments: tuple[ConnectionMoment, ...]


# -- looking at each other -----------------------------------------------------------------------


def looking_at(a: PersonSample, b: PersonSample, tolerance_deg: float) -> bool | None:
    """Does ``a`` look at ``b``'s head (same camera space)? None if either is not measured."""
    if a.gaze_xyz is None or a.head_xyz_cm is None or b.head_xyz_cm is None:
        return None
    to_b = np.subtract(b.head_xyz_cm, a.head_xyz_cm)
    n = float(np.linalg.norm(to_b))
    if n < 1e-6:
        return None
    cos = float(np.dot(a.gaze_xyz, to_b) / n)
    # a head (about 12 cm across half-width) seen from further away needs a finer aim
    tol = max(tolerance_deg, math.degrees(math.atan2(12.0, n)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos)))) <= tol


def _both(a: bool | None, b: bool | None) -> bool | None:
    if a is None or b is None:
        return None
    return a and b


# -- synchrony -------------------------------------------------------------------------------------


def head_speed(samples: Sequence[PersonSample]) -> Arr:
    """Angular speed of the head (deg/s) between analysed frames; NaN where not measured."""
    t = np.array([s.time_s for s in samples])
    yaw = np.array([np.nan if s.head_yaw_deg is None else s.head_yaw_deg for s in samples])
    pitch = np.array([np.nan if s.head_pitch_deg is None else s.head_pitch_deg for s in samples])
    out = np.full(len(samples), np.nan)
    if len(samples) > 1:
        dt = np.maximum(np.diff(t), 1e-3)
        out[1:] = np.hypot(np.diff(yaw), np.diff(pitch)) / dt
    return out


def expressiveness_series(samples: Sequence[PersonSample]) -> Arr:
    return np.array([np.nan if s.expressiveness is None else s.expressiveness for s in samples])


def _fill_short_gaps(x: Arr, max_gap: int) -> Arr:
    """Linear interpolation over NaN runs of at most ``max_gap`` samples; longer gaps stay NaN."""
    out: Arr = np.array(x, dtype=np.float64, copy=True)
    bad = ~np.isfinite(out)
    if not bad.any() or bad.all():
        return out
    idx = np.arange(len(out))
    filled = np.interp(idx, idx[~bad], out[~bad])
    i = 0
    while i < len(out):
        if bad[i]:
            j = i
            while j < len(out) and bad[j]:
                j += 1
            if j - i <= max_gap and i > 0 and j < len(out):
                out[i:j] = filled[i:j]
            i = j
        else:
            i += 1
    return out


def windowed_lagged_correlation(
    x: Arr, y: Arr, window: int, step: int, max_lag: int
) -> tuple[Arr, Arr]:
    """Correlations per (window, lag): r[w, k] = corr(x[s:s+win], y[s+lag:s+lag+win]) for
    lags -max_lag..max_lag (positive lag: ``y`` follows ``x``). A window with a gap, or with no
    movement in it, is NaN."""
    from numpy.lib.stride_tricks import sliding_window_view

    lags = np.arange(-max_lag, max_lag + 1).astype(np.float64)
    starts = np.arange(max_lag, len(x) - window - max_lag + 1, step)
    r = np.full((len(starts), len(lags)), np.nan)
    if len(starts) == 0:
        return r, lags
    xw = sliding_window_view(x, window)[starts]
    yall = sliding_window_view(y, window)
    xc = xw - xw.mean(axis=1, keepdims=True)
    xs = np.sqrt((xc * xc).sum(axis=1))
    for li, lag in enumerate(lags):
        yw = yall[starts + int(lag)]
        yc = yw - yw.mean(axis=1, keepdims=True)
        ys = np.sqrt((yc * yc).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            r[:, li] = (xc * yc).sum(axis=1) / (xs * ys)
    r[~np.isfinite(r)] = np.nan
    return r, lags


def _strength(r: Arr) -> float | None:
    rows = r[np.isfinite(r).any(axis=1)]
    if len(rows) == 0:
        return None
    return float(np.mean(np.nanmax(rows, axis=1)))


def synchrony(x: Arr, y: Arr, rate_hz: float, cfg: PartnerConfig, seed: int = 0) -> Synchrony:
    """Windowed lagged cross-correlation strength with a segment-shuffled surrogate baseline."""
    window = max(8, round(cfg.sync_window_s * rate_hz))
    step = max(1, round(cfg.sync_step_s * rate_hz))
    max_lag = max(1, round(cfg.max_lag_s * rate_hz))
    none = Synchrony(None, None, None, None, None, 0)
    if min(len(x), len(y)) < window + 2 * max_lag:
        return none
    gap = max(1, round(0.5 * rate_hz))
    x, y = _fill_short_gaps(x, gap), _fill_short_gaps(y, gap)
    r, lags = windowed_lagged_correlation(x, y, window, step, max_lag)
    score = _strength(r)
    if score is None:
        return none
    valid = np.isfinite(r).any(axis=1)
    # per lag, the mean over the windows where it could be measured (near a gap some lags can't)
    finite = np.isfinite(r[valid])
    sums = np.where(finite, r[valid], 0.0).sum(axis=0)
    counts = finite.sum(axis=0)
    mean_by_lag = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
    lead = float(lags[int(np.argmax(mean_by_lag))] / rate_hz)
    rng = np.random.default_rng(seed)
    n_seg = len(y) // window
    surrogate = []
    if n_seg >= 3:
        for _ in range(cfg.surrogates):
            order = rng.permutation(n_seg)
            if np.all(order == np.arange(n_seg)):
                continue
            parts = [y[i * window : (i + 1) * window] for i in order]
            ys = np.concatenate([*parts, y[n_seg * window :]])
            s = _strength(windowed_lagged_correlation(x, ys, window, step, max_lag)[0])
            if s is not None:
                surrogate.append(s)
    if not surrogate:
        return Synchrony(round(score, 3), None, None, None, round(lead, 2), int(valid.sum()))
    sm, p95 = float(np.mean(surrogate)), float(np.percentile(surrogate, 95))
    return Synchrony(
        score=round(score, 3),
        surrogate_mean=round(sm, 3),
        surrogate_p95=round(p95, 3),
        above_chance=score > p95,
        lead_lag_s=round(lead, 2),
        windows=int(valid.sum()),
    )


# -- mirroring ------------------------------------------------------------------------------------


def smile_onsets(
    samples: Sequence[PersonSample],
    threshold: float,
    min_duration_s: float = 0.4,
    min_gap_s: float = 1.0,
) -> list[float]:
    """Times a smile starts: the smile rises through the threshold from below and stays above
    it for at least ``min_duration_s`` (mouth shapes of speech flicker across the threshold for
    a frame or two; a smile holds). A smile already there at the start is not an onset; onsets
    closer than ``min_gap_s`` count once; frames where the face is not measured are skipped."""
    measured = [s for s in samples if s.smile is not None]
    onsets: list[float] = []
    i = 1
    while i < len(measured):
        if (measured[i].smile or 0.0) >= threshold > (measured[i - 1].smile or 0.0):
            j = i
            while j + 1 < len(measured) and (measured[j + 1].smile or 0.0) >= threshold:
                j += 1
            start = measured[i].time_s
            # a frame stands for the time until the next one
            if j + 1 < len(measured):
                end = measured[j + 1].time_s
            else:
                end = measured[j].time_s + (measured[j].time_s - measured[j - 1].time_s)
            held = end - start >= min_duration_s - 1e-9
            if held and (not onsets or start - onsets[-1] >= min_gap_s):
                onsets.append(start)
            i = j + 1
        else:
            i += 1
    return onsets


def _measured_span_s(samples: Sequence[PersonSample]) -> float:
    t = [s.time_s for s in samples if s.smile is not None]
    return t[-1] - t[0] if len(t) > 1 else 0.0


def mirroring(
    a: Sequence[PersonSample],
    b: Sequence[PersonSample],
    ids: tuple[int, int],
    threshold: float,
    window_s: float,
) -> tuple[Mirroring, Mirroring]:
    """Smiles answered by the partner within ``window_s``, and how many would be answered by
    chance alone if the partner smiled as often at random times (Poisson at the partner's own
    rate: each smile is "answered" with probability 1 - exp(-rate * window))."""
    oa, ob = smile_onsets(a, threshold), smile_onsets(b, threshold)

    def answered(src: list[float], other: list[float]) -> int:
        return sum(any(0 < o - t <= window_s for o in other) for t in src)

    def by_chance(
        src: list[float], other: list[float], other_samples: Sequence[PersonSample]
    ) -> float:
        span = _measured_span_s(other_samples)
        if span <= 0:
            return 0.0
        return round(len(src) * (1.0 - math.exp(-len(other) / span * window_s)), 1)

    return (
        Mirroring(ids[0], len(oa), answered(oa, ob), by_chance(oa, ob, b)),
        Mirroring(ids[1], len(ob), answered(ob, oa), by_chance(ob, oa, a)),
    )


# -- moments of connection ----------------------------------------------------------------------


def _warm(s: PersonSample, usual_expr: float | None, smile_threshold: float) -> bool | None:
    if s.smile is None and s.expressiveness is None:
        return None
    if s.smile is not None and s.smile >= smile_threshold:
        return True
    if s.expressiveness is not None and usual_expr is not None:
        return s.expressiveness > usual_expr
    return False


def connection_moments(
    a: Sequence[PersonSample],
    b: Sequence[PersonSample],
    engaged: Sequence[bool | None],
    cfg: PartnerConfig,
    smile_threshold: float,
    nominal_dt_s: float,
    bridge_gap_s: float,
) -> tuple[ConnectionMoment, ...]:
    def usual(samples: Sequence[PersonSample]) -> float | None:
        v = [s.expressiveness for s in samples if s.expressiveness is not None]
        return float(np.median(v)) if v else None

    ua, ub = usual(a), usual(b)
    both_warm = [
        _both(_warm(x, ua, smile_threshold), _warm(y, ub, smile_threshold))
        for x, y in zip(a, b, strict=True)
    ]
    connected = [
        None if e is None or w is None else e and w for e, w in zip(engaged, both_warm, strict=True)
    ]
    t = [s.time_s for s in a]
    d = frame_durations(t, nominal_dt_s)
    out = []
    for r in runs(connected, t, d, bridge_gap_s):
        if not r.state or r.duration_s < cfg.min_moment_s:
            continue
        inside = [i for i, x in enumerate(t) if r.start_s <= x < r.end_s]
        smiles = [((a[i].smile or 0.0) + (b[i].smile or 0.0)) / 2 for i in inside]
        warmth = float(np.mean(smiles)) if smiles else 0.0
        reasons = ["both engaged"]
        if any(
            (a[i].smile or 0) >= smile_threshold and (b[i].smile or 0) >= smile_threshold
            for i in inside
        ):
            reasons.append("both smiling")
        else:
            reasons.append("both more expressive than usual")
        out.append(
            ConnectionMoment(
                round(r.start_s, 2),
                round(r.end_s, 2),
                round(r.duration_s * (0.5 + warmth), 3),
                tuple(reasons),
            )
        )
    return tuple(sorted(out, key=lambda m: -m.score))


# -- the pair ----------------------------------------------------------------------------------


def analyse_partners(
    a: Sequence[PersonSample],
    b: Sequence[PersonSample],
    ids: tuple[int, int],
    same_room: bool,
    cfg: PartnerConfig,
    *,
    analysis_fps: float,
    smile_threshold: float,
    bridge_gap_s: float,
) -> PartnerReport:
    """Everything about two partners whose samples are aligned frame by frame."""
    if len(a) != len(b):
        raise ValueError(f"partners' samples must be aligned, got {len(a)} and {len(b)}")
    t = [s.time_s for s in a]
    d = frame_durations(t, 1.0 / analysis_fps)
    if same_room:
        a_at_b = [looking_at(x, y, cfg.partner_tolerance_deg) for x, y in zip(a, b, strict=True)]
        b_at_a = [looking_at(y, x, cfg.partner_tolerance_deg) for x, y in zip(a, b, strict=True)]
        mutual = [_both(p, q) for p, q in zip(a_at_b, b_at_a, strict=True)]
        look = (ratio_and_coverage(a_at_b, d)[0], ratio_and_coverage(b_at_a, d)[0])
    else:
        mutual = [_both(x.eye_contact, y.eye_contact) for x, y in zip(a, b, strict=True)]
        look = (None, None)
    ratio, coverage = ratio_and_coverage(mutual, d)
    episodes = tuple(
        Episode(round(r.start_s, 3), round(r.end_s, 3))
        for r in runs(mutual, t, d, bridge_gap_s)
        if r.state and r.duration_s >= cfg.min_moment_s
    )
    # samples come about 1/analysis_fps apart, not exactly (frame timestamps): use the mean
    rate = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else analysis_fps
    return PartnerReport(
        ids=ids,
        same_room=same_room,
        looking_at_partner=tuple(None if v is None else round(v, 3) for v in look),  # type: ignore[arg-type]
        mutual_gaze_ratio=None if ratio is None else round(ratio, 3),
        mutual_gaze_coverage=round(coverage, 3),
        mutual_gaze_episodes=episodes,
        head_synchrony=synchrony(head_speed(a), head_speed(b), rate, cfg),
        expression_synchrony=synchrony(
            expressiveness_series(a), expressiveness_series(b), rate, cfg, seed=1
        ),
        mirroring=mirroring(a, b, ids, smile_threshold, cfg.mirror_window_s),
        moments=connection_moments(
            a, b, mutual, cfg, smile_threshold, 1.0 / analysis_fps, bridge_gap_s
        ),
    )
