"""What a per-person calibration of the gaze could buy, measured on a dev split only.

    python eval/oracle_calibration.py [eye_rated_dev]

For each labelled frame, the person's offset is the median gaze (yaw, pitch) over their *other*
frames the raters called eye contact (leave one out): what a calibration session, in which the
person looks into the lens, would measure. Eye contact is then decided per frame (no smoothing)
with the offset taken off, vertically only or both ways, and scored with Matthews' correlation
against the raters. It uses the labels to place the offset (and a clip's neighbouring frames
are near-duplicates), so it is an optimistic estimate of what a calibration buys, not a
measurement of one; people with fewer than 3 other contact frames (the stills) get no offset.
The 95% interval of the gain comes from resampling people whole. Dev splits only.
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
    frames = eye_contact_frames(
        EVAL / f"{name}.csv", lambda f: analyze(f, models, cfg, jobs=1), cfg
    )
    for frame in frames:
        s, item = frame.sample, frame.item
        if s.gaze_yaw_deg is None or s.gaze_pitch_deg is None or item.eye_contact is None:
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

    people = sorted({r[0] for r in rows})
    offset_people = {who for who in people if sum(1 for r in rows if r[0] == who and r[1]) >= 4}
    print(
        f"{name}: {len(rows)} measured frames of {len(people)} people "
        f"({len(offset_people)} with an offset), tolerance {tol:g} deg"
    )
    calls = {
        label: [(r[1], decided(i, use_yaw, use_pitch)) for i, r in enumerate(rows)]
        for label, use_yaw, use_pitch in (
            ("no calibration", False, False),
            ("vertical offset", False, True),
            ("vertical and horizontal offset", True, True),
        )
    }
    rng = np.random.default_rng(0)
    by_person = {who: [i for i, r in enumerate(rows) if r[0] == who] for who in people}
    for label, pairs in calls.items():
        gains = []
        for _ in range(1000):
            drawn = [i for who in rng.choice(people, len(people)) for i in by_person[who]]
            base = _mcc([calls["no calibration"][i] for i in drawn])
            gains.append(_mcc([pairs[i] for i in drawn]) - base)
        lo, hi = np.nanpercentile(gains, [2.5, 97.5])
        print(f"  {label:32s} MCC {_mcc(pairs):.3f}  gain 95% [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
