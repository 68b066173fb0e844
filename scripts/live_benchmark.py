"""Live-mode benchmark: frames per second and per-frame latency at 640x480 on this machine.

    python scripts/live_benchmark.py [CLIP] [--seconds 20]

Feeds the frames of a real webcam clip (resized to 640x480 if needed) to the live session as
fast as it takes them, with the overlay drawn, and reports throughput and the latency of each
frame from its arrival to its overlay being ready: median and 95th percentile. Face signals run
on every frame; the body model on every third, in the background. Targets (issue 5): at least
25 frames per second, median latency at most 40 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT.parent / "shared" / "media" / "talking" / "dn_webcam_interview.mp4"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--seconds", type=float, default=20.0, help="video seconds to use")
    args = ap.parse_args()
    from analyzer.config import AnalyzerConfig
    from analyzer.live import LiveSession
    from analyzer.models import model_paths
    from analyzer.native_logs import divert_native_stderr
    from analyzer.overlay import draw
    from analyzer.types import Frame, SourceKind, VideoInfo
    from analyzer.video import open_source

    models = Path(os.environ.get("PRESENCE_MODELS_DIR", ROOT.parent / "shared" / "models"))
    paths = model_paths(models)
    frames = []
    with open_source(args.clip) as src:
        for f in src.frames():
            if f.timestamp_ms > args.seconds * 1000:
                break
            rgb = f.rgb if f.rgb.shape[:2] == (480, 640) else cv2.resize(f.rgb, (640, 480))
            frames.append(Frame(f.index, f.timestamp_ms, np.ascontiguousarray(rgb)))
    info = VideoInfo(
        name=args.clip.name,
        kind=SourceKind.CAMERA,
        width=640,
        height=480,
        fps=None,
        duration_s=None,
    )
    cfg = AnalyzerConfig(analysis_fps=30.0)
    latencies = []
    with divert_native_stderr(), LiveSession(paths, cfg, info) as session:
        for f in frames[:10]:  # warm-up, not counted
            draw(f.rgb, session.process(f))
        session.reset()
        start = time.perf_counter()
        for i, f in enumerate(frames):
            t0 = time.perf_counter()
            live = session.process(Frame(i, 1000 + i * 40, f.rgb))
            draw(f.rgb, live)
            latencies.append((time.perf_counter() - t0) * 1000.0)
        wall = time.perf_counter() - start
    lat = sorted(latencies)
    p95 = lat[int(0.95 * (len(lat) - 1))]
    print(f"clip: {args.clip.name}, {len(frames)} frames at 640x480, cores: {os.cpu_count()}")
    print(f"throughput: {len(frames) / wall:.1f} frames per second")
    print(
        f"latency per frame: median {statistics.median(lat):.1f} ms, "
        f"95th percentile {p95:.1f} ms, max {lat[-1]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
