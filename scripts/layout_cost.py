"""What reading the layout costs: the share of an analysis spent in the pre-scan's layout
reading (moments read over the recording and changes placed at their cut), on call recordings
built from ../shared/media the way the apps lay them out (tests/calls.py) and on real clips.

    python scripts/layout_cost.py [--minutes 1 10]

"layout" is the pixel work of reading screens (seeks, small copies, tiles, seams, insets, cuts);
"pre-scan" adds the face model's look at each distinct screen (which tiles hold people), which
analysis needed before this reading too. Timings on shared 2-core machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"


def call_spec(minutes: float):  # type: ignore[no-untyped-def]
    """A 720p Zoom gallery that switches to speaker view for a while, every 5 minutes."""
    from tests.calls import CallSpec, Scene, Tile, gallery_side, inset

    w, h = 1280, 720
    a, b = gallery_side(w, h, 16 / 9, 8, 10)
    speaker = (Tile((0, 0, w, h), 1), Tile(inset(w, h, 0.22, 16 / 9, "tr", 16), 0, frame_px=2))
    seconds = minutes * 60
    scenes = [Scene(0.0, (Tile(a, 0), Tile(b, 1)))]
    t = min(20.0, seconds / 3)
    while t < seconds:
        scenes.append(Scene(t, speaker, "pip"))
        scenes.append(Scene(t + min(15.0, seconds / 4), (Tile(a, 0), Tile(b, 1))))
        t += 300.0
    return CallSpec(
        f"zoom_{minutes:g}min",
        (w, h),
        tuple(s for s in scenes if s.start_s < seconds),
        seconds=seconds,
        partners=("talking/liveportrait_d6.mp4", "talking/liveportrait_d9.mp4"),
    )


def measure(path: Path) -> dict[str, float]:
    from analyzer.models import model_paths
    from analyzer.native_logs import divert_native_stderr
    from analyzer.pipeline import analyze

    models_dir = Path(os.environ.get("PRESENCE_MODELS_DIR", ROOT.parent / "shared" / "models"))
    models = model_paths(models_dir)
    timings: dict[str, float] = {}
    with divert_native_stderr():
        report = analyze(path, models, timings=timings)
    timings["duration"] = report.video.duration_s or 0.0
    timings["spans"] = len(report.layout_spans)
    return timings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    args = ap.parse_args()
    from tests.calls import render_call

    clips = [MEDIA / "conversation" / "vv_interview.mp4", MEDIA / "talking" / "liveportrait_d6.mp4"]
    print(
        f"{'input':34s} {'length':>8s} {'spans':>5s} {'layout':>8s} {'pre-scan':>9s} "
        f"{'analysis':>9s} {'layout share':>12s}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            spec = call_spec(minutes)
            path = Path(tmp) / f"{spec.name}.mp4"
            render_call(spec, path, MEDIA)
            clips.append(path)
        for path in clips:
            t = measure(path)
            print(
                f"{path.name:34s} {t['duration']:7.1f}s {t['spans']:5.0f} {t['layout']:7.2f}s "
                f"{t['prescan']:8.2f}s {t['total']:8.1f}s {t['layout'] / t['total']:11.1%}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
