"""Benchmark `presence analyze` on a real clip: analyzed frames per second, real-time factor, and
peak memory, for the clip as it is and for the same clip looped to several times its length (to
show memory does not grow with the length of the video).

    python scripts/benchmark.py [CLIP] [--loops 1 6 18] [--fps 10]

Each run is a separate process, so peak memory (max RSS) is that run's own. Timings on shared
2-core machines are noisy: compare the figures of one run with each other, not across days.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT.parent / "shared" / "media" / "talking" / "liveportrait_d13.mp4"


def loop_clip(src: Path, times: int, dest: Path) -> Path:
    """The clip repeated ``times`` times, by copying its packets with shifted timestamps."""
    import av

    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        packets = [p for p in inp.demux(s_in) if p.dts is not None]
        span = max(p.pts for p in packets) + (packets[1].pts - packets[0].pts)
        for k in range(times):
            for p in packets:
                p.pts += span if k else 0
                p.dts += span if k else 0
                p.stream = s_out
                out.mux(p)
    return dest


def measure(clip: Path, fps: float, out_dir: Path) -> dict[str, float]:
    """Run the real CLI in a child process; time it and read its peak memory."""
    code = (
        "import resource, sys, time\n"
        "from analyzer.cli import main\n"
        "t = time.perf_counter()\n"
        "rc = main(sys.argv[1:])\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(f'BENCH {wall} {peak} {rc}', file=sys.stderr)\n"
    )
    args = ["analyze", str(clip), "--out", str(out_dir), "--fps", str(fps), "-q"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=os.environ.copy()
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("BENCH ")]
    if proc.returncode != 0 or not line:
        raise SystemExit(f"benchmark run failed: {proc.stderr.strip()}")
    wall, peak, _ = line[-1].split()[1:]
    report = json.loads((out_dir / "report.json").read_text())
    duration = float(report["video"]["duration_s"])
    frames = int(report["video"]["frames_analyzed"])
    return {
        "duration_s": duration,
        "wall_s": float(wall),
        "frames_analyzed": frames,
        "analyzed_fps": frames / float(wall),
        "realtime_factor": duration / float(wall),
        "peak_rss_mb": float(peak),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--loops", type=int, nargs="+", default=[1, 6, 18])
    ap.add_argument("--fps", type=float, default=10.0)
    args = ap.parse_args()
    if "PRESENCE_MODELS_DIR" not in os.environ:
        os.environ["PRESENCE_MODELS_DIR"] = str(ROOT.parent / "shared" / "models")
    import av

    with av.open(str(args.clip)) as c:
        s = c.streams.video[0]
        print(
            f"clip: {args.clip.name} {s.codec_context.width}x{s.codec_context.height} "
            f"{float(s.average_rate):.2f} fps; analysis at {args.fps:g} frames/s; "
            f"cores: {os.cpu_count()}"
        )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.loops:
            clip = args.clip if n == 1 else loop_clip(args.clip, n, Path(tmp) / f"loop{n}.mp4")
            start = time.perf_counter()
            r = measure(clip, args.fps, Path(tmp) / f"out{n}")
            r["loops"] = n
            rows.append(r)
            print(
                f"x{n}: {r['duration_s']:.1f} s of video in {r['wall_s']:.1f} s -> "
                f"{r['analyzed_fps']:.1f} analyzed frames/s, {r['realtime_factor']:.2f}x real "
                f"time, peak memory {r['peak_rss_mb']:.0f} MB "
                f"(run took {time.perf_counter() - start:.1f} s)"
            )
    if len(rows) > 1:
        # Between the two longest runs: the first minute includes the allocator's warm-up.
        a, b = rows[-2], rows[-1]
        per_min = (b["peak_rss_mb"] - a["peak_rss_mb"]) / ((b["duration_s"] - a["duration_s"]) / 60)
        print(
            f"memory growth: {per_min:+.1f} MB per extra minute of video between the two "
            f"longest runs ({a['peak_rss_mb']:.0f} MB -> {b['peak_rss_mb']:.0f} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
