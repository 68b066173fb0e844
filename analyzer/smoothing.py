"""Smoothing yes/no signals over time, so one noisy frame does not flip them.

A centred majority vote over a short window: a value is replaced by the majority of the measured
values within ``window_s / 2`` on either side (ties keep the value). A single-frame flip inside a
steady stretch disappears; a real glance away lasting longer than half the window stays. With the
defaults (0.3 s for gaze at 10 frames per second) a 0.5 s glance survives intact. Unmeasured
frames stay unmeasured and do not vote.

``CentredMajority`` is the one implementation, fed one value at a time: a value is final once a
value more than half a window later has arrived, so a live session shows it ``window_s / 2``
late (0.15 s for gaze) and holds at most a window of values. ``majority_smooth`` runs it over a
whole sequence, for batch analysis; both give the same values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
_EPS_S = 1e-9


class CentredMajority(Generic[T]):
    """Streaming centred majority vote. ``push`` a time, a value and a payload (what the caller
    wants back with it, e.g. the frame's sample); it returns the (payload, smoothed value) pairs
    that became final, in order. ``flush`` finishes the rest at the end of a session."""

    def __init__(self, window_s: float) -> None:
        self.half_s = max(window_s, 0.0) / 2.0 + _EPS_S
        self.off = window_s <= 0
        # every value still needed: those not yet final, and those within half a window before
        self._items: deque[tuple[float, bool | None, T]] = deque()
        self._next = 0  # index in _items of the first value not yet final

    def push(self, time_s: float, value: bool | None, payload: T) -> list[tuple[T, bool | None]]:
        if self._items and time_s < self._items[-1][0]:
            raise ValueError(f"times must not go back: {time_s} after {self._items[-1][0]}")
        self._items.append((time_s, value, payload))
        out = []
        while self._next < len(self._items) and (
            self.off or self._items[self._next][0] + self.half_s < time_s
        ):
            out.append(self._final(self._next))
            self._next += 1
        self._forget()
        return out

    def flush(self) -> list[tuple[T, bool | None]]:
        out = [self._final(i) for i in range(self._next, len(self._items))]
        self._items.clear()
        self._next = 0
        return out

    def _final(self, i: int) -> tuple[T, bool | None]:
        t, v, payload = self._items[i]
        if v is None or self.off:
            return payload, v
        yes = no = 0
        for u, x, _ in self._items:
            if x is None or abs(u - t) > self.half_s:
                continue
            if x:
                yes += 1
            else:
                no += 1
        return payload, v if yes == no else yes > no

    def _forget(self) -> None:
        """Drop values no pending value can see any more (bounded by one window of frames)."""
        if self._next >= len(self._items):
            horizon = self._items[-1][0] - self.half_s if self._items else 0.0
        else:
            horizon = self._items[self._next][0] - self.half_s
        while self._next > 0 and self._items[0][0] < horizon:
            self._items.popleft()
            self._next -= 1


def majority_smooth(
    values: Sequence[bool | None], times_s: Sequence[float], window_s: float
) -> list[bool | None]:
    if len(values) != len(times_s):
        raise ValueError(f"values and times_s differ in length: {len(values)} != {len(times_s)}")
    vote: CentredMajority[None] = CentredMajority(window_s)
    out: list[bool | None] = []
    for t, v in zip(times_s, values, strict=True):
        out.extend(s for _, s in vote.push(t, v, None))
    out.extend(s for _, s in vote.flush())
    return out
