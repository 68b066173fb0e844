"""Is each frame's eye-contact confidence what it says? Reliability on a labelled set.

    python eval/confidence_check.py eye_rated_test

Frames are grouped by the confidence of their (raw, per-frame) eye-contact call; in each group
the share of calls that agree with the raters should be about the group's mean confidence.
``gaze_error_deg`` was fitted on eye_rated_dev; checking the test split changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from analyzer.config import AnalyzerConfig
from analyzer.evaluation import eye_contact_frames
from analyzer.models import model_paths
from analyzer.pipeline import analyze
from analyzer.signals.gaze import Gaze, is_eye_contact

EVAL = Path(__file__).resolve().parent
BINS = ((0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.001))


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "eye_rated_test"
    cfg = AnalyzerConfig()
    models = model_paths(None)
    conf, right = [], []
    frames = eye_contact_frames(
        EVAL / f"{name}.csv", lambda f: analyze(f, models, cfg, jobs=1), cfg
    )
    for frame in frames:
        s = frame.sample
        if s.eye_contact_confidence is None or s.gaze_yaw_deg is None or s.gaze_pitch_deg is None:
            continue
        call = is_eye_contact(Gaze(s.gaze_yaw_deg, s.gaze_pitch_deg), cfg.gaze)
        conf.append(s.eye_contact_confidence)
        right.append(call == frame.item.eye_contact)
    c, r = np.asarray(conf), np.asarray(right)
    print(f"{name}: {len(c)} measured frames; calls right {r.mean():.3f}, ", end="")
    print(f"mean confidence {c.mean():.3f}")
    for lo, hi in BINS:
        m = (c >= lo) & (c < hi)
        if m.any():
            a, b = _wilson(int(r[m].sum()), int(m.sum()))
            print(
                f"  confidence {lo:.2f}-{min(hi, 1):.2f}: {m.sum():3d} frames, mean confidence "
                f"{c[m].mean():.3f}, right {r[m].mean():.3f} (95% {a:.2f}-{b:.2f})"
            )


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's 95% interval of a share k/n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


if __name__ == "__main__":
    main()
