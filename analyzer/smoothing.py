"""Smoothing yes/no signals over time, so one noisy frame does not flip them (pure).

A centred majority vote over a short window: a value is replaced by the majority of the measured
values within ``window_s / 2`` on either side (ties keep the value). A single-frame flip inside a
steady stretch disappears; a real glance away lasting longer than half the window stays. With the
defaults (0.3 s for gaze at 10 frames per second) a 0.5 s glance survives intact. Unmeasured
frames stay unmeasured and do not vote.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence


def majority_smooth(
    values: Sequence[bool | None], times_s: Sequence[float], window_s: float
) -> list[bool | None]:
    if len(values) != len(times_s):
        raise ValueError(f"values and times_s differ in length: {len(values)} != {len(times_s)}")
    if window_s <= 0:
        return list(values)
    half = window_s / 2.0 + 1e-9
    out: list[bool | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        lo = bisect_left(times_s, times_s[i] - half)
        hi = bisect_right(times_s, times_s[i] + half)
        votes = [x for x in values[lo:hi] if x is not None]
        yes = sum(votes)
        no = len(votes) - yes
        out.append(v if yes == no else yes > no)
    return out
