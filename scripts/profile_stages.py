"""Where the time of one analysis goes, stage by stage (seconds of CPU work per stage).

    python scripts/profile_stages.py CLIP

Runs ``analyzer.pipeline.analyze`` once in this process with a timer wrapped around each
stage: decoding (PyAV, all frames it decodes), colour conversion (to RGB, kept frames only),
the layout pre-scan, the face model, the pose model (in its own thread), the face search on
crops, pairing and appearance, tracking, per-frame signals, and finishing the report. Times are
summed per stage whichever thread ran them, so with the background pose thread and the decode
thread the sum is more than the wall time.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPENT: defaultdict[str, float] = defaultdict(float)
CALLS: defaultdict[str, int] = defaultdict(int)
_lock = threading.Lock()


def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            with _lock:
                SPENT[stage] += time.perf_counter() - t
                CALLS[stage] += 1

    return wrapper


def timed_iter(stage: str, fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        it = fn(*args, **kwargs)
        while True:
            t = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                with _lock:
                    SPENT[stage] += time.perf_counter() - t
            yield item

    return wrapper


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path)
    args = ap.parse_args()
    os.environ.setdefault("PRESENCE_MODELS_DIR", str(ROOT.parent / "shared" / "models"))
    sys.path.insert(0, str(ROOT))

    # Conversion: VideoFileSource.frames calls av_frame.to_ndarray(format="rgb24") on kept
    # frames; np.asarray wraps its result, so the conversion is timed through a wrapped av frame
    # method on the class PyAV uses.
    import av

    from analyzer import landmarks, pipeline, scene, video
    from analyzer.config import AnalyzerConfig
    from analyzer.models import model_paths
    from analyzer.settings import AnalyzerSettings

    av.VideoFrame.to_ndarray = timed("colour conversion", av.VideoFrame.to_ndarray)  # type: ignore[method-assign]
    video.VideoFileSource._decoded = timed_iter("decode", video.VideoFileSource._decoded)  # type: ignore[method-assign]
    pipeline.plan_scene = timed("layout pre-scan", scene.plan_scene)
    sl = landmarks.SceneLandmarker
    sl.detect_faces = timed("face model", sl.detect_faces)  # type: ignore[method-assign]
    sl._detect_poses = timed("pose model (thread)", sl._detect_poses)  # type: ignore[method-assign]
    sl.faces_in_crop = timed("face search on crops", sl.faces_in_crop)  # type: ignore[method-assign]
    observer = getattr(pipeline, "FrameObserver", pipeline.SessionAnalyzer)  # (older layout)
    observer._cut_regions = timed("cut check", observer._cut_regions)
    pipeline.pair_faces_with_poses = timed("pairing", pipeline.pair_faces_with_poses)
    pipeline.appearance = timed("appearance", pipeline.appearance)
    pipeline.PersonTracker.update = timed("tracking", pipeline.PersonTracker.update)  # type: ignore[method-assign]
    pipeline.measure_person = timed("signals", pipeline.measure_person)
    pipeline.session_report = timed("report", pipeline.session_report)

    settings = AnalyzerSettings()
    models = model_paths(settings.models_dir, settings.cache_dir)
    cfg = AnalyzerConfig()
    started = time.perf_counter()
    # one process, so that every stage is seen here (segment processes would not be)
    one = {"jobs": 1} if "jobs" in inspect.signature(pipeline.analyze).parameters else {}
    report = pipeline.analyze(args.clip, models, cfg, **one)
    wall = time.perf_counter() - started
    print(
        f"{args.clip.name}: {report.video.duration_s:.1f} s of video, "
        f"{report.frames_analyzed} frames analyzed, wall {wall:.1f} s"
    )
    width = max(len(k) for k in SPENT)
    for stage, s in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        share = 100.0 * s / wall
        print(f"  {stage:<{width}}  {s:7.2f} s  {share:5.1f}% of wall")
    print("  (the pre-scan's own decoding and face model are counted in it and in those stages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
