"""Finishing a person's track: from their raw per-frame measurements to the samples reported.

Three things need the whole session (or, live, the session so far) rather than one frame:
expressiveness against the person's own neutral face, smoothing over time, and the self-
calibrated screen target ("attention to the partner on screen"). All pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from analyzer.attention import find_screen_target, on_target
from analyzer.config import AnalyzerConfig
from analyzer.signals import expression
from analyzer.signals.person import Measured
from analyzer.smoothing import majority_smooth
from analyzer.types import PersonSample, ScreenTarget


def finish_track(
    times_s: Sequence[float], frames: Mapping[int, Measured], cfg: AnalyzerConfig
) -> tuple[tuple[PersonSample, ...], ScreenTarget | None]:
    """One sample per analysed frame (``frames`` is keyed by frame number; frames without the
    person get a face-not-visible sample), and the person's screen target if one was found."""
    measured = [frames.get(i) for i in range(len(times_s))]
    samples = [
        m.sample if m is not None else PersonSample(time_s=t, face_visible=False)
        for m, t in zip(measured, times_s, strict=True)
    ]
    samples = _smoothed(_with_expressiveness(samples, measured, cfg), cfg)
    gazes = [(s.gaze_yaw_deg, s.gaze_pitch_deg) for s in samples]
    seen = [(y, p) for y, p in gazes if y is not None and p is not None]
    tol = cfg.attention.tolerance_deg
    target = find_screen_target([y for y, _ in seen], [p for _, p in seen], tol)
    if target is not None:
        samples = [
            s if y is None or p is None else replace(s, on_screen=on_target(y, p, target, tol))
            for s, (y, p) in zip(samples, gazes, strict=True)
        ]
    return tuple(samples), target


def _with_expressiveness(
    samples: list[PersonSample], measured: list[Measured | None], cfg: AnalyzerConfig
) -> list[PersonSample]:
    feats = [
        m.expression_features
        for m in measured
        if m is not None and m.expression_features is not None
    ]
    if len(feats) < cfg.expression.min_baseline_s * cfg.analysis_fps:
        return samples
    neutral = expression.neutral_baseline(np.stack(feats), cfg.expression.baseline_percentile)
    out = []
    for s, m in zip(samples, measured, strict=True):
        if m is not None and m.expression_features is not None:
            e = expression.expressiveness(
                m.expression_features, neutral, cfg.expression.scale, cfg.expression.dead_zone
            )
            s = replace(s, expressiveness=float(e))
        out.append(s)
    return out


def _smoothed(samples: list[PersonSample], cfg: AnalyzerConfig) -> list[PersonSample]:
    t = [s.time_s for s in samples]
    ec = majority_smooth([s.eye_contact for s in samples], t, cfg.smoothing.gaze_window_s)
    down = majority_smooth([s.looking_down for s in samples], t, cfg.smoothing.gaze_window_s)
    arms = majority_smooth([s.arms_crossed for s in samples], t, cfg.smoothing.posture_window_s)
    return [
        replace(s, eye_contact=a, looking_down=b, arms_crossed=c)
        for s, a, b, c in zip(samples, ec, down, arms, strict=True)
    ]
