"""Presence against the plain MediaPipe loop a user would write, on the same machine in one run.

    python scripts/benchmark.py [--seconds 60] [--long-seconds 600] [--jobs N] [--skip-long]

Builds, from ``../shared/media``: a 60 s 1280x720 single-person clip (the webcam interview,
looped and pillarboxed to 720p, 30 fps) and a 60 s 1280x720 two-tile call (the split-screen TV
interview, looped, 25 fps); and the single-person clip at 10 minutes, to show that memory does
not grow with length. For each clip it runs, each in a fresh process:

- the plain loop: decode with PyAV, keep 10 frames a second, the Face Landmarker on every kept
  frame, the Pose Landmarker on every 3rd, VIDEO mode, one process (two faces and two bodies on
  the call);
- ``presence analyze`` with default settings (``--jobs`` if given);

and prints Presence's speed as a multiple of the loop's, the real-time factor of each, and each
one's peak memory (max RSS; for Presence, its own and its largest segment process's). Timings
on shared 2-core machines are noisy: compare the figures of one run with each other, not
across days.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
SINGLE_SRC = MEDIA / "talking" / "dn_webcam_interview.mp4"
CALL_SRC = MEDIA / "conversation" / "vv_interview.mp4"


def single_720p(dest: Path, seconds: float, fps: int = 30) -> Path:
    """The webcam interview looped to ``seconds``, pillarboxed into 1280x720 at ``fps``."""
    import av
    import cv2
    import numpy as np

    frames = []
    with av.open(str(SINGLE_SRC)) as inp:
        for f in inp.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
    src_fps = 20.0
    canvas = np.zeros((720, 1280, 3), np.uint8)
    with av.open(str(dest), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 1280, 720, "yuv420p"
        s.options = {"preset": "veryfast", "crf": "23"}
        s.codec_context.gop_size = 2 * fps
        for i in range(round(seconds * fps)):
            k = int(i / fps * src_fps) % len(frames)
            canvas[:, 160:1120] = cv2.resize(frames[k], (960, 720))
            vf = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return dest


def loop_clip(src: Path, seconds: float, dest: Path) -> Path:
    """``src`` repeated to at least ``seconds``, by copying its packets with shifted timestamps
    (no re-encoding)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        packets = [p for p in inp.demux(s_in) if p.dts is not None]
        span = max(p.pts for p in packets) + (packets[1].pts - packets[0].pts)
        span_s = float(span * s_in.time_base)
        times = max(1, round(seconds / span_s + 0.499))
        for k in range(times):
            for p in packets:
                p.pts += span if k else 0
                p.dts += span if k else 0
                p.stream = s_out
                out.mux(p)
    return dest


PLAIN_LOOP = r"""
import resource, sys, time
import av, mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

path, face_model, pose_model, people = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t0 = time.perf_counter()
face = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
    base_options=BaseOptions(model_asset_path=face_model),
    running_mode=vision.RunningMode.VIDEO, num_faces=people,
    output_face_blendshapes=True, output_facial_transformation_matrixes=True))
pose = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
    base_options=BaseOptions(model_asset_path=pose_model),
    running_mode=vision.RunningMode.VIDEO, num_poses=people))
n, next_ms, found = 0, -1.0, 0
with av.open(path) as c:
    for f in c.decode(video=0):
        ms = f.time * 1000.0
        if ms + 0.5 < next_ms:
            continue
        next_ms = (ms if next_ms < 0 else next_ms) + 100.0
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=f.to_ndarray(format="rgb24"))
        r = face.detect_for_video(image, int(ms))
        found += len(r.face_landmarks)
        if n % 3 == 0:
            pose.detect_for_video(image, int(ms))
        n += 1
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"BENCH {wall} {peak} {n} {found}", file=sys.stderr)
"""

PRESENCE = r"""
import resource, sys, time
from analyzer.cli import main
t = time.perf_counter()
rc = main(sys.argv[1:])
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"BENCH {wall} {peak} {rc} {child}", file=sys.stderr)
"""


def _run(code: str, args: list[str]) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=os.environ.copy()
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("BENCH ")]
    if proc.returncode != 0 or not line:
        raise SystemExit(f"benchmark run failed: {proc.stderr.strip()[-2000:]}")
    return line[-1].split()[1:]


def plain_loop(clip: Path, people: int) -> dict[str, float]:
    models = Path(os.environ["PRESENCE_MODELS_DIR"])
    wall, peak, n, _found = _run(
        PLAIN_LOOP,
        [
            str(clip),
            str(models / "face_landmarker.task"),
            str(models / "pose_landmarker_full.task"),
            str(people),
        ],
    )
    return {"wall_s": float(wall), "peak_rss_mb": float(peak), "frames": float(n)}


def presence(clip: Path, out_dir: Path, jobs: int | None) -> dict[str, float]:
    args = ["analyze", str(clip), "--out", str(out_dir), "-q"]
    if jobs is not None:
        args += ["--jobs", str(jobs)]
    wall, peak, _rc, child = _run(PRESENCE, args)
    report = json.loads((out_dir / "report.json").read_text())
    return {
        "wall_s": float(wall),
        "peak_rss_mb": float(peak),
        "child_peak_rss_mb": float(child),
        "frames": float(report["video"]["frames_analyzed"]),
        "duration_s": float(report["video"]["duration_s"]),
    }


def compare(name: str, clip: Path, people: int, tmp: Path, jobs: int | None) -> dict[str, float]:
    loop = plain_loop(clip, people)
    ours = presence(clip, tmp / f"out_{name}", jobs)
    dur = ours["duration_s"]
    row = {
        "speed_vs_loop": loop["wall_s"] / ours["wall_s"],
        "presence_realtime": dur / ours["wall_s"],
        "loop_realtime": dur / loop["wall_s"],
        "presence_peak_mb": ours["peak_rss_mb"],
        "presence_segment_process_peak_mb": ours["child_peak_rss_mb"],
        "loop_peak_mb": loop["peak_rss_mb"],
        "duration_s": dur,
    }
    print(
        f"{name}: {dur:.0f} s of video. Presence {ours['wall_s']:.1f} s "
        f"({row['presence_realtime']:.2f}x real time, peak {ours['peak_rss_mb']:.0f} MB, "
        f"segment process {ours['child_peak_rss_mb']:.0f} MB); "
        f"plain loop {loop['wall_s']:.1f} s ({row['loop_realtime']:.2f}x real time, peak "
        f"{loop['peak_rss_mb']:.0f} MB) -> Presence is {row['speed_vs_loop']:.2f}x the loop's "
        f"speed",
        flush=True,
    )
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--long-seconds", type=float, default=600.0)
    ap.add_argument("--jobs", type=int, default=None, help="passed to presence analyze")
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()
    if "PRESENCE_MODELS_DIR" not in os.environ:
        os.environ["PRESENCE_MODELS_DIR"] = str(ROOT.parent / "shared" / "models")
    print(f"cores: {os.cpu_count()}; presence --jobs {args.jobs or 'default'}", flush=True)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        single = single_720p(tmp / "single.mp4", args.seconds)
        call = loop_clip(CALL_SRC, args.seconds, tmp / "call.mp4")
        rows["single"] = compare("single person 720p", single, 1, tmp, args.jobs)
        rows["call"] = compare("two-tile call 720p", call, 2, tmp, args.jobs)
        if not args.skip_long:
            long = single_720p(tmp / "long.mp4", args.long_seconds)
            rows["long"] = compare("single person 720p, long", long, 1, tmp, args.jobs)
            grow = rows["long"]["presence_peak_mb"] - rows["single"]["presence_peak_mb"]
            extra_min = (rows["long"]["duration_s"] - rows["single"]["duration_s"]) / 60.0
            print(
                f"memory: {rows['single']['presence_peak_mb']:.0f} MB at "
                f"{rows['single']['duration_s']:.0f} s, {rows['long']['presence_peak_mb']:.0f} MB "
                f"at {rows['long']['duration_s']:.0f} s ({grow / extra_min:+.1f} MB per extra "
                f"minute)"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
