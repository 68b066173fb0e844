"""The desktop practice loop behind ``webcam_demo.py`` and ``presence live``: camera (or a video
file played as one) -> live session -> overlay in a window and/or an MP4 -> summary and report."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from analyzer.config import AnalyzerConfig
from analyzer.live.session import LiveSession
from analyzer.models import ModelPaths
from analyzer.native_logs import divert_native_stderr
from analyzer.outputs.overlay import draw
from analyzer.outputs.report import summary, write_outputs
from analyzer.types import SourceKind
from analyzer.video import LatestFrame, VideoWriter, open_source

WINDOW = "Presence - practice (q: quit, r: reset, s: snapshot)"


@dataclass(frozen=True)
class LiveOptions:
    source: str
    window: bool = True
    output: Path | None = None
    report_dir: Path | None = None
    people: int = 1
    max_seconds: float | None = None
    quiet_native_logs: bool = True


@dataclass(frozen=True)
class LiveResult:
    frames: int
    dropped: int
    seconds: float
    mean_fps: float


def run_live(opts: LiveOptions, models: ModelPaths, cfg: AnalyzerConfig) -> LiveResult:
    with contextlib.ExitStack() as stack:
        if opts.quiet_native_logs:
            stack.enter_context(divert_native_stderr())
        source = stack.enter_context(open_source(opts.source))
        info = source.info
        if info.kind == SourceKind.IMAGE:
            from analyzer.errors import InputError

            raise InputError(f"{opts.source}: live mode needs a camera or a video, not an image")
        session = stack.enter_context(LiveSession(models, cfg, info, people=opts.people))
        # Start the clock only now that the models are loaded, or a file played as a camera
        # would lose its first second to start-up.
        camera = LatestFrame(source, pace=info.kind != SourceKind.CAMERA)
        stack.callback(camera.close)
        writer = None
        if opts.output is not None:
            sound = Path(opts.source) if info.kind == SourceKind.VIDEO else None
            writer = VideoWriter(
                opts.output, info.width, info.height, info.fps or 30.0, audio_from=sound
            )
        if opts.window:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        start = time.monotonic()
        frames = 0
        try:
            while opts.max_seconds is None or time.monotonic() - start < opts.max_seconds:
                frame = camera.next(timeout_s=5.0)
                if frame is None:
                    break
                live = session.process(frame)
                shown = draw(frame.rgb, live)
                frames += 1
                if writer is not None:
                    writer.write(shown, frame.timestamp_ms)
                if opts.window:
                    cv2.imshow(WINDOW, shown[:, :, ::-1])
                    key = cv2.waitKey(1) & 0xFF
                    if key in (ord("q"), 27):
                        break
                    if key == ord("r"):
                        session.reset()
                    if key == ord("s"):
                        name = f"presence-snapshot-{time.strftime('%Y%m%d-%H%M%S')}.png"
                        cv2.imwrite(name, shown[:, :, ::-1])
                        print(f"saved {name}", file=sys.stderr)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if writer is not None:
            writer.close()
        if opts.window:
            cv2.destroyAllWindows()
        seconds = time.monotonic() - start
        dropped = camera.dropped
    report = session.report()
    if report is None:
        print("No one was in view; nothing to summarise.")
    else:
        print(summary(report))
        if opts.report_dir is not None:
            write_outputs(report, opts.report_dir)
            print(f"wrote {opts.report_dir / 'report.json'} and {opts.report_dir / 'timeline.csv'}")
    mean_fps = frames / seconds if seconds > 0 else 0.0
    print(
        f"{frames} frames analyzed in {seconds:.1f} s ({mean_fps:.1f} per second); "
        f"{dropped} dropped to keep up"
    )
    return LiveResult(frames=frames, dropped=dropped, seconds=seconds, mean_fps=mean_fps)
