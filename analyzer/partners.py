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
  ``max_lag_s``; it is compared with chance partners (one partner's recording shifted in time
  and its segments reordered), so only synchrony above their ``chance_percentile`` is called
  synchrony. ``lead_lag_s``, given only then, is the lag with the highest mean correlation:
  positive when person 1 leads (person 2 follows that many seconds later).
* **Mirroring**: a smile (held at least 0.4 s) that the partner answers with a smile of their
  own within ``mirror_window_s``, beside how many a partner smiling at random would answer.
* **Moments of connection**: spans where both are engaged at once (mutual gaze, or both looking
  into their cameras) and share a positive expression (both smiling, or both more expressive
  than their own usual: above their upper quartile), at least ``min_moment_s`` long, ranked by
  length and warmth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from analyzer.config import PartnerConfig
from analyzer.geometry import angle_between_deg
from analyzer.metrics import frame_durations, ratio_and_coverage, runs
from analyzer.smoothing import majority_smooth
from analyzer.types import (
    ConnectionMoment,
    Episode,
    Mirroring,
    PartnerReport,
    PersonSample,
    Synchrony,
)

Arr = npt.NDArray[np.float64]


# -- looking at each other -----------------------------------------------------------------------


HEAD_RADIUS_CM = 10.0  # half a head's height with hair; a gaze anywhere on the head counts


# "More expressive than usual": above this percentile of the person's own expressiveness.
LIVELIER_PERCENTILE = 75.0


def looking_at(a: PersonSample, b: PersonSample, cfg: PartnerConfig) -> bool | None:
    """Does ``a`` look at ``b``'s head (same camera space)? None if it cannot be told.

    With ``a``'s gaze from the face model (eyes open, head turned less than
    ``profile_yaw_deg``): the gaze ray within ``partner_tolerance_deg`` of ``b``'s head.
    Otherwise (face in profile or not found), with the head's direction from the body model:
    its horizontal direction within ``body_tolerance_deg`` of the direction to ``b`` (the eyes
    can point 20-30° from the head, and the body model gives no up-down). Eyes seen closed:
    None. How far each head is from the camera is known only roughly, which matters most for two
    people side by side; a head judged by its direction alone and turned well toward the
    other's side (``_turned_toward``) is judged toward the nearest of the other head's places
    within ``depth_uncertainty_share`` of its distance. Everything else is judged as placed: a
    wider benefit of the doubt would let two people facing the camera a few metres away
    "look at each other"."""
    return _judge(a, b, cfg)[0]


def _judge(a: PersonSample, b: PersonSample, cfg: PartnerConfig) -> tuple[bool | None, bool]:
    """``looking_at``'s call, and whether it was made from the head's direction alone."""
    if a.head_xyz_cm is None or b.head_xyz_cm is None:
        return None, False
    sight = _sight(a, cfg)
    if sight is None:
        return None, False
    ray, tolerance, flat = sight
    here, there = np.asarray(a.head_xyz_cm), np.asarray(b.head_xyz_cm)
    # Only a head turned well toward the other's side is given the benefit of the depth doubt:
    # one facing the camera, turned away, or only a little toward them, is judged as placed.
    doubt = flat and _turned_toward(ray, here, there, cfg.profile_yaw_deg)
    u = cfg.depth_uncertainty_share
    best: float | None = None
    for depth_scale in np.linspace(1.0 - u, 1.0 + u, 9) if doubt else (1.0,):
        to_b = there * depth_scale - here
        if flat:
            to_b[1] = 0.0
        n = float(np.linalg.norm(to_b))
        if n < 1e-6:
            continue
        # up close a head fills more than the tolerance: anywhere on it counts
        head_deg = math.degrees(math.atan2(HEAD_RADIUS_CM, n))
        miss = angle_between_deg(ray, to_b) - max(tolerance, head_deg)
        best = miss if best is None else min(best, miss)
    return (None if best is None else best <= 0.0), flat


def _turned_toward(facing: Arr, here: Arr, there: Arr, profile_yaw_deg: float) -> bool:
    """Is a head at ``here`` facing horizontally ``facing`` turned toward the side of the
    picture where ``there`` is, between ``profile_yaw_deg`` and 180° - that from the camera?"""
    to_camera = -here / max(float(np.linalg.norm(here)), 1e-6)
    flat_to_camera = np.array([to_camera[0], 0.0, to_camera[2]])
    turn_deg = angle_between_deg(facing, flat_to_camera)
    side = float(np.cross(flat_to_camera, facing)[1])  # > 0: turned toward the image right
    other_side = float(np.cross(flat_to_camera, there - here)[1])
    return profile_yaw_deg <= turn_deg <= 180.0 - profile_yaw_deg and side * other_side > 0


def _sight(a: PersonSample, cfg: PartnerConfig) -> tuple[Arr, float, bool] | None:
    """The line ``a`` looks along, the tolerance around it, and whether it is only the head's
    horizontal direction from the body model (no eyes, no up-down); None if not measured."""
    profile = a.head_yaw_deg is not None and abs(a.head_yaw_deg) > cfg.profile_yaw_deg
    if a.gaze_xyz is not None and not (profile and a.facing_xyz is not None):
        return np.asarray(a.gaze_xyz, dtype=np.float64), cfg.partner_tolerance_deg, False
    if a.facing_xyz is not None and not a.eyes_closed:
        ray = np.array([a.facing_xyz[0], 0.0, a.facing_xyz[2]])  # horizontal only
        return ray, cfg.body_tolerance_deg, True
    return None


def judge_looking(
    a: Sequence[PersonSample], b: Sequence[PersonSample], cfg: PartnerConfig
) -> tuple[list[bool | None], float | None]:
    """Frame by frame, does ``a`` look at ``b``'s head (``looking_at``, not smoothed); and of
    the frames where that is measured, the share judged from the head's direction alone (face
    in profile or not found), or None if none is measured."""
    judged = [_judge(x, y, cfg) for x, y in zip(a, b, strict=True)]
    by_head = [flat for call, flat in judged if call is not None]
    return [call for call, _ in judged], (sum(by_head) / len(by_head) if by_head else None)


def looking_at_partner(
    a: Sequence[PersonSample],
    b: Sequence[PersonSample],
    cfg: PartnerConfig,
    gaze_window_s: float,
) -> list[bool | None]:
    """Frame by frame, does ``a`` look at ``b``'s head (in one room; samples aligned)?
    Smoothed like eye contact: a majority over ``gaze_window_s``."""
    return majority_smooth(judge_looking(a, b, cfg)[0], [x.time_s for x in a], gaze_window_s)


def _both(a: bool | None, b: bool | None) -> bool | None:
    if a is None or b is None:
        return None
    return a and b


# -- synchrony -------------------------------------------------------------------------------------


def head_speed_deg_s(samples: Sequence[PersonSample]) -> Arr:
    """Angular speed of the head (deg/s) between analyzed frames; NaN where not measured."""
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
    xs = _spread(xc, xw)
    for li, lag in enumerate(lags):
        yw = yall[starts + int(lag)]
        yc = yw - yw.mean(axis=1, keepdims=True)
        ys = _spread(yc, yw)
        with np.errstate(invalid="ignore", divide="ignore"):
            r[:, li] = (xc * yc).sum(axis=1) / (xs * ys)
    r[~np.isfinite(r)] = np.nan
    return r, lags


def _spread(centred: Arr, raw: Arr) -> Arr:
    """Root sum of squares per window; NaN for a window without movement (rounding leaves a
    constant window a spread of about 1e-16 of its level, which must not count as movement)."""
    spread = np.sqrt((centred * centred).sum(axis=1))
    level = np.abs(raw).max(axis=1) * np.sqrt(raw.shape[1])
    return np.where(spread > 1e-9 * np.maximum(level, 1e-12), spread, np.nan)


def _strength(r: Arr) -> float | None:
    rows = r[np.isfinite(r).any(axis=1)]
    if len(rows) == 0:
        return None
    return float(np.mean(np.nanmax(rows, axis=1)))


def synchrony(x: Arr, y: Arr, rate_hz: float, cfg: PartnerConfig, seed: int = 0) -> Synchrony:
    """Windowed lagged cross-correlation strength against chance partners (surrogate_pairs)."""
    # window, step and lags in samples
    window_n = max(8, round(cfg.sync_window_s * rate_hz))
    step_n = max(1, round(cfg.sync_step_s * rate_hz))
    max_lag_n = max(1, round(cfg.max_lag_s * rate_hz))
    none = Synchrony(None, None, None, None, None, 0)
    if min(len(x), len(y)) < window_n + 2 * max_lag_n:
        return none
    gap_n = max(1, round(0.5 * rate_hz))
    x, y = _fill_short_gaps(x, gap_n), _fill_short_gaps(y, gap_n)
    r, lags = windowed_lagged_correlation(x, y, window_n, step_n, max_lag_n)
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
    surrogate = [
        s
        for ys in surrogate_pairs(y, window_n, cfg.surrogates, seed)
        if (s := _strength(windowed_lagged_correlation(x, ys, window_n, step_n, max_lag_n)[0]))
        is not None
    ]
    if not surrogate:  # too short to compare with chance: a strength, but no verdict, no leader
        return Synchrony(round(score, 3), None, None, None, None, int(valid.sum()))
    sm = float(np.mean(surrogate))
    threshold = float(np.percentile(surrogate, cfg.chance_percentile))
    above = score > threshold
    return Synchrony(
        score=round(score, 3),
        surrogate_mean=round(sm, 3),
        chance_threshold=round(threshold, 3),
        above_chance=above,
        lead_lag_s=round(lead, 2) if above else None,  # a leader only of real synchrony
        windows=int(valid.sum()),
    )


def surrogate_pairs(y: Arr, segment: int, n: int, seed: int) -> list[Arr]:
    """``n`` chance partners for ``y``: ``y`` shifted circularly by a random offset of at least
    one segment, cut into segments, and the segments reordered so that none stays in its place
    (a derangement). Nothing of the real timing is left, and the movement itself is kept.
    Empty when ``y`` is shorter than three segments."""
    n_seg = len(y) // segment
    if n_seg < 3:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        shifted = np.roll(y, int(rng.integers(segment, len(y) - segment + 1)))
        order = rng.permutation(n_seg)
        while np.any(order == np.arange(n_seg)):
            order = rng.permutation(n_seg)
        parts = [shifted[i * segment : (i + 1) * segment] for i in order]
        out.append(np.concatenate([*parts, shifted[n_seg * segment :]]))
    return out


# -- mirroring ------------------------------------------------------------------------------------


def smile_onsets(
    samples: Sequence[PersonSample],
    threshold: float,
    min_duration_s: float = 0.4,
    min_gap_s: float = 1.0,
    max_dropout_s: float = 0.5,
) -> list[float]:
    """Times a smile starts: the smile rises through the threshold from below and is seen above
    it for at least ``min_duration_s`` (mouth shapes of speech flicker across the threshold for
    a frame or two; a smile holds). A smile already there at the start is not an onset; onsets
    closer than ``min_gap_s`` count once. Frames where the face is not measured are skipped: a
    smile goes on across a dropout of up to ``max_dropout_s``, but only the time it was seen
    counts towards its length."""
    measured = [s for s in samples if s.smile is not None]
    times = [s.time_s for s in measured]
    frame_s = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    onsets: list[float] = []
    i = 1
    while i < len(measured):
        if (measured[i].smile or 0.0) >= threshold > (measured[i - 1].smile or 0.0):
            j, seen_s = i, frame_s
            while (
                j + 1 < len(measured)
                and (measured[j + 1].smile or 0.0) >= threshold
                and times[j + 1] - times[j] <= max_dropout_s + frame_s
            ):
                j += 1
                seen_s += min(frame_s, times[j] - times[j - 1])
            if seen_s >= min_duration_s - 1e-9 and (
                not onsets or times[i] - onsets[-1] >= min_gap_s
            ):
                onsets.append(times[i])
            i = j + 1
        else:
            i += 1
    return onsets


def mirroring(
    a: Sequence[PersonSample],
    b: Sequence[PersonSample],
    ids: tuple[int, int],
    threshold: float,
    window_s: float,
) -> tuple[Mirroring, Mirroring]:
    """Smiles answered by the partner within ``window_s``, and how many would be answered by
    chance alone if the partner smiled as often at random times (Poisson at the partner's own
    rate: each smile is "answered" with probability 1 - exp(-rate * window)).

    Only smiles after which the partner's face could be seen count: a smile while the partner
    was out of view can't be answered or left unanswered. None when either face was never
    measured."""
    return (
        _mirrored(ids[0], a, b, threshold, window_s),
        _mirrored(ids[1], b, a, threshold, window_s),
    )


def _mirrored(
    person_id: int,
    own: Sequence[PersonSample],
    partner: Sequence[PersonSample],
    threshold: float,
    window_s: float,
) -> Mirroring:
    seen = [s.time_s for s in partner if s.smile is not None]
    if not seen or all(s.smile is None for s in own):
        return Mirroring(person_id, None, None, None)
    seen_arr = np.array(seen)
    mine = [
        t
        for t in smile_onsets(own, threshold)
        if np.any((seen_arr > t) & (seen_arr <= t + window_s))
    ]
    theirs = smile_onsets(partner, threshold)
    answered = sum(any(0 < o - t <= window_s for o in theirs) for t in mine)
    span_s = seen[-1] - seen[0]
    rate_per_s = len(theirs) / span_s if span_s > 0 else 0.0
    chance = len(mine) * (1.0 - math.exp(-rate_per_s * window_s))
    return Mirroring(person_id, len(mine), answered, round(chance, 1))


# -- moments of connection ----------------------------------------------------------------------


def _warm(s: PersonSample, usual_expr: float | None, smile_threshold: float) -> bool | None:
    if s.smile is None and s.expressiveness is None:
        return None
    if s.smile is not None and s.smile >= smile_threshold:
        return True
    if s.expressiveness is not None and usual_expr is not None:
        return s.expressiveness > usual_expr
    return False


def _above(s: PersonSample, usual_expr: float | None) -> bool:
    return s.expressiveness is not None and usual_expr is not None and s.expressiveness > usual_expr


def connection_moments(
    a: Sequence[PersonSample],
    b: Sequence[PersonSample],
    engaged: Sequence[bool | None],
    cfg: PartnerConfig,
    smile_threshold: float,
    nominal_dt_s: float,
    bridge_gap_s: float,
    engaged_means: str = "both looking into their cameras",
) -> tuple[ConnectionMoment, ...]:
    """Spans where both are ``engaged`` (what that means is said by ``engaged_means``: both
    looking into their cameras on a call, looking at each other in one room) and warm."""

    def usual(samples: Sequence[PersonSample]) -> float | None:
        """Above this a person is more expressive than their own usual: their upper quartile
        (the median would call half of anyone's time "more than usual", and two strangers'
        chance halves would meet)."""
        v = [s.expressiveness for s in samples if s.expressiveness is not None]
        return float(np.percentile(v, LIVELIER_PERCENTILE)) if v else None

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
        reasons = [engaged_means]
        smiling = [
            (a[i].smile or 0) >= smile_threshold and (b[i].smile or 0) >= smile_threshold
            for i in inside
        ]
        animated = [_above(a[i], ua) and _above(b[i], ub) for i in inside]
        if any(smiling):
            reasons.append("both smiling")
        if any(animated):
            reasons.append("both more expressive than usual")
        if not any(smiling) and not any(animated):
            reasons.append("one smiling, the other more expressive than usual")
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


def analyze_partners(
    a: Sequence[PersonSample],
    b: Sequence[PersonSample],
    ids: tuple[int, int],
    same_room: bool | None,
    cfg: PartnerConfig,
    *,
    analysis_fps: float,
    smile_threshold: float,
    bridge_gap_s: float,
    gaze_window_s: float = 0.0,
) -> PartnerReport:
    """Everything about two partners whose samples are aligned frame by frame.
    ``gaze_window_s``: looking at the partner is smoothed like eye contact (a majority over
    this window), so one noisy frame does not split an episode."""
    if len(a) != len(b):
        raise ValueError(f"partners' samples must be aligned, got {len(a)} and {len(b)}")
    t = [s.time_s for s in a]
    d = frame_durations(t, 1.0 / analysis_fps)
    by_head: tuple[float | None, float | None] = (None, None)
    if same_room is None:  # one room or a call could not be told: no claim either way
        mutual: list[bool | None] = [None] * len(a)
        look: tuple[float | None, float | None] = (None, None)
    elif same_room:
        a_calls, a_by_head = judge_looking(a, b, cfg)
        b_calls, b_by_head = judge_looking(b, a, cfg)
        a_at_b = majority_smooth(a_calls, t, gaze_window_s)
        b_at_a = majority_smooth(b_calls, t, gaze_window_s)
        mutual = [_both(p, q) for p, q in zip(a_at_b, b_at_a, strict=True)]
        look = (ratio_and_coverage(a_at_b, d)[0], ratio_and_coverage(b_at_a, d)[0])
        by_head = (a_by_head, b_by_head)
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
        looking_from_head_direction=by_head,
        mutual_gaze_ratio=None if ratio is None else round(ratio, 3),
        mutual_gaze_coverage=round(coverage, 3),
        mutual_gaze_episodes=episodes,
        head_synchrony=synchrony(head_speed_deg_s(a), head_speed_deg_s(b), rate, cfg),
        expression_synchrony=synchrony(
            expressiveness_series(a), expressiveness_series(b), rate, cfg, seed=1
        ),
        mirroring=mirroring(a, b, ids, smile_threshold, cfg.mirror_window_s),
        moments=connection_moments(
            a,
            b,
            mutual,
            cfg,
            smile_threshold,
            1.0 / analysis_fps,
            bridge_gap_s,
            engaged_means="looking at each other"
            if same_room
            else "both looking into their cameras",
        ),
    )
