"""What a per-person calibration of the gaze could buy, measured on a dev split only.

    python eval/oracle_calibration.py [eye_rated_dev]

For each labelled frame, the person's offset is the median gaze (yaw, pitch) over their *other*
frames the raters called eye contact (leave one out): what a calibration session, in which the
person looks into the lens, would measure. Eye contact is then decided per frame (no smoothing)
with the offset taken off, vertically only or both ways, and scored with Matthews' correlation
against the raters. It uses the labels to place the offset, so it is an upper bound for a
calibration, and it must only ever be run on a dev split.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from analyzer.config import AnalyzerConfig
from analyzer.evaluation import pick_person, read_manifest
from analyzer.models import model_paths
from analyzer.pipeline import analyze

EVAL = Path(__file__).resolve().parent


def _mcc(pairs: list[tuple[bool, bool]]) -> float:
    tp = sum(y and c for y, c in pairs)
    tn = sum(not y and not c for y, c in pairs)
    fp = sum(c and not y for y, c in pairs)
    fn = sum(y and not c for y, c in pairs)
    d = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / d if d else float("nan")


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "eye_rated_dev"
    if not name.endswith("_dev"):
        raise SystemExit("dev splits only: this uses the labels to place the offsets")
    cfg = AnalyzerConfig()
    models = model_paths(None)
    rows: list[tuple[str, bool, float, float]] = []  # source and person, label, yaw, pitch
    reports = {}
    for item in read_manifest(EVAL / f"{name}.csv"):
        if item.eye_contact is None:
            continue
        if item.file not in reports:
            reports[item.file] = analyze(item.file, models, cfg, jobs=1)
        person = pick_person(reports[item.file], item.person)
        if person is None:
            continue
        samples = person.track.samples
        start = item.start_s
        s = samples[0] if start is None else min(samples, key=lambda x: abs(x.time_s - start))
        if start is not None and abs(s.time_s - start) > 0.6 / cfg.analysis_fps:
            continue
        if s.gaze_yaw_deg is None or s.gaze_pitch_deg is None:
            continue
        rows.append(
            (f"{item.file}:{item.person}", item.eye_contact, s.gaze_yaw_deg, s.gaze_pitch_deg)
        )
    tol = cfg.gaze.eye_contact_tolerance_deg

    def decided(i: int, use_yaw: bool, use_pitch: bool) -> bool:
        who, _, yaw, pitch = rows[i]
        own = [(r[2], r[3]) for j, r in enumerate(rows) if r[0] == who and r[1] and j != i]
        oy, op = np.median(np.asarray(own), axis=0) if len(own) >= 3 else (0.0, 0.0)
        return math.hypot(yaw - (oy if use_yaw else 0.0), pitch - (op if use_pitch else 0.0)) <= tol

    print(f"{name}: {len(rows)} measured frames, tolerance {tol:g} deg")
    for label, use_yaw, use_pitch in (
        ("no calibration", False, False),
        ("vertical offset", False, True),
        ("vertical and horizontal offset", True, True),
    ):
        pairs = [(r[1], decided(i, use_yaw, use_pitch)) for i, r in enumerate(rows)]
        print(f"  {label:32s} MCC {_mcc(pairs):.3f}")


if __name__ == "__main__":
    main()
