"""Fit the gaze's per-frame error (``GazeConfig.gaze_error_deg``) on a dev split.

    python eval/fit_gaze_error.py [eye_rated_dev]

Model: the raters' call is eye contact when the true angle to the lens is within the
tolerance, and the measured angle is the true one plus a normal error of sigma degrees, so
P(contact | measured angle a) = Phi((tolerance - a) / sigma). Printed: the mean negative
log-likelihood of the raters' calls for each sigma; the shipped value is the best one. (One
dimension, the angle to the lens, stands for a two-dimensional gaze error: an approximation.)
Dev splits only.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from analyzer.config import AnalyzerConfig
from analyzer.evaluation import eye_contact_frames
from analyzer.models import model_paths
from analyzer.pipeline import analyze
from analyzer.signals.gaze import Gaze

EVAL = Path(__file__).resolve().parent


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "eye_rated_dev"
    if not name.endswith("_dev"):
        raise SystemExit("dev splits only: this chooses a setting")
    cfg = AnalyzerConfig()
    models = model_paths(None)
    angles, labels = [], []
    frames = eye_contact_frames(
        EVAL / f"{name}.csv", lambda f: analyze(f, models, cfg, jobs=1), cfg
    )
    for frame in frames:
        s = frame.sample
        if s.gaze_yaw_deg is None or s.gaze_pitch_deg is None:
            continue
        angles.append(Gaze(s.gaze_yaw_deg, s.gaze_pitch_deg).off_axis_deg)
        labels.append(frame.item.eye_contact)
    a, y = np.asarray(angles), np.asarray(labels)
    tol = cfg.gaze.eye_contact_tolerance_deg
    print(f"{name}: {len(a)} measured frames, tolerance {tol:g} deg")
    for sigma in (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        p = np.array([0.5 * (1 + math.erf((tol - v) / sigma / math.sqrt(2))) for v in a])
        p = p.clip(1e-6, 1 - 1e-6)
        nll = -np.mean(np.where(y, np.log(p), np.log(1 - p)))
        print(f"  sigma {sigma:4.1f} deg: mean negative log-likelihood {nll:.4f}")


if __name__ == "__main__":
    main()
