"""Choose the gaze parameters from the *dev* eye-contact labels (never the test split).

    python scripts/calibrate_gaze.py eval/gaze_zoombi_source.csv eval/gaze_frames_dev.csv

Runs the face model once on every labelled frame, then sweeps the eye-rotation parameters and
the eye-contact tolerance, and prints the best settings by Matthews correlation, with the curve
around them so the choice can be seen to be a plateau and not a spike.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from analyzer.config import GazeConfig
from analyzer.evaluation import binary_scores, read_manifest
from analyzer.landmarks import LandmarkerOptions, SceneLandmarker
from analyzer.models import model_paths
from analyzer.native_logs import divert_native_stderr
from analyzer.signals import gaze
from analyzer.types import FaceObservation, Frame, Region
from analyzer.video import open_source

SHARED = Path(__file__).resolve().parents[2] / "shared"


def labelled_faces(manifests: list[Path]) -> list[tuple[bool, FaceObservation | None]]:
    models = SHARED / "models"
    options = LandmarkerOptions(model_paths(models), video=False, people_per_region=4)
    out: list[tuple[bool, FaceObservation | None]] = []
    for manifest in manifests:
        for item in read_manifest(manifest):
            if item.eye_contact is None:
                continue
            with open_source(item.file) as src:
                target = item.start_s or 0.0
                frame = min(
                    (f for f in src.frames()),
                    key=lambda f: abs(f.timestamp_ms / 1000 - target),
                )
                region = (Region(0, 0, src.info.width, src.info.height),)
            with SceneLandmarker(options, region) as lm:
                faces = list(lm.detect_faces(Frame(0, 0, frame.rgb)))
            face = None
            if faces:
                if item.person == "left":
                    face = min(faces, key=lambda f: f.eyes_mid_xy[0])
                elif item.person == "right":
                    face = max(faces, key=lambda f: f.eyes_mid_xy[0])
                else:
                    face = max(faces, key=lambda f: f.bbox_xyxy[2] - f.bbox_xyxy[0])
            out.append((item.eye_contact, face))
    return out


def score(data: list[tuple[bool, FaceObservation | None]], cfg: GazeConfig) -> tuple[float, float]:
    pairs = []
    for label, face in data:
        g = None if face is None else gaze.gaze(face, cfg)
        pairs.append((label, None if g is None else gaze.is_eye_contact(g, cfg)))
    s = binary_scores(pairs)
    return (s.mcc or 0.0, s.f1 or 0.0)


def main() -> int:
    manifests = [Path(p) for p in sys.argv[1:]]
    if any("test" in p.name for p in manifests):
        print("refusing: calibrate on dev manifests only", file=sys.stderr)
        return 2
    with divert_native_stderr():
        data = labelled_faces(manifests)
    print(f"{len(data)} labelled frames, {sum(f is not None for _, f in data)} with a face")
    base = GazeConfig()
    grid = {
        "iris_weight": [0.0, 0.25, 0.5, 0.75, 1.0],
        "iris_vertical_bias": [0.0, 0.05, 0.1, 0.15, 0.2],
        "iris_gain": [1.0, 1.25, 1.5],
        "blendshape_full_scale_deg": [20.0, 30.0, 40.0],
        "eye_contact_tolerance_deg": [6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0],
    }
    results = []
    for values in itertools.product(*grid.values()):
        cfg = replace(base, **dict(zip(grid, values, strict=True)))
        mcc, f1 = score(data, cfg)
        results.append((mcc, f1, values))
    results.sort(key=lambda r: (-r[0], -r[1]))
    print("best 10 by MCC:", ", ".join(grid))
    for mcc, f1, values in results[:10]:
        print(f"  MCC {mcc:.3f} F1 {f1:.3f}  {values}")
    best = dict(zip(grid, results[0][2], strict=True))
    print("tolerance curve at the best other settings:")
    for tol in np.arange(4.0, 24.1, 2.0):
        cfg = replace(base, **{**best, "eye_contact_tolerance_deg": float(tol)})
        mcc, f1 = score(data, cfg)
        print(f"  {tol:4.0f} deg: MCC {mcc:.3f} F1 {f1:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
