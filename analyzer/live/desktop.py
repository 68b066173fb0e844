"""The desktop practice loop behind ``webcam_demo.py`` and ``presence live``: camera (or a video
file played as one) -> live session -> overlay in a window and/or an MP4 -> summary and report."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2

from analyzer.calibration import CalibrationError, CalibrationRun, apply, save
from analyzer.config import AnalyzerConfig
from analyzer.errors import InputError
from analyzer.live.session import LiveSession
from analyzer.models import ModelPaths
from analyzer.native_logs import divert_native_stderr
from analyzer.outputs.overlay import draw
from analyzer.outputs.report import summary, write_outputs
from analyzer.types import ImageArray, SourceKind
from analyzer.video import FrameSource, LatestFrame, VideoWriter, open_source

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
    # First the 10 s eye-contact calibration (analyzer.calibration); saved here when given.
    calibrate: bool = False
    calibration_out: Path | None = None


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
        return _run(opts, models, cfg, source, stack)


def _calibrate(
    opts: LiveOptions,
    models: ModelPaths,
    cfg: AnalyzerConfig,
    source: FrameSource,
    show: Callable[[ImageArray], bool],
) -> AnalyzerConfig | None:
    """The 10 s calibration on the first frames (one person): the settings to practise with,
    or None when the window was closed. Measured without any earlier calibration."""
    info = source.info
    run = CalibrationRun()
    plain = replace(cfg, gaze=replace(cfg.gaze, calibration_pitch_deg=0.0))
    with LiveSession(models, plain, info, people=1) as session:
        # the clock starts once the models are loaded (a file played as a camera keeps its start)
        camera = LatestFrame(source, pace=info.kind != SourceKind.CAMERA)
        try:
            while True:
                frame = camera.next(timeout_s=5.0)
                if frame is None:
                    raise CalibrationError("calibration: the camera stopped before it was done")
                live = session.process(frame)
                prompt = run.push(live.time_s, live.lone_gaze())
                if prompt is None:
                    break
                if not show(draw(frame.rgb, live, prompt=prompt)):
                    return None
        finally:
            camera.close()
    cal = run.result()
    if opts.calibration_out is not None:
        save(cal, opts.calibration_out)
    far = cal.screen_from_lens_deg()
    print(
        f"calibrated: your gaze reads {cal.lens_pitch_deg:+.1f} deg vertically while looking "
        "into the lens; that is taken off from now on"
        + ("" if far is None else f"; the middle of your screen is {far:.0f} deg from the lens")
        + (f"; saved to {opts.calibration_out}" if opts.calibration_out is not None else ""),
        file=sys.stderr,
    )
    advice = cal.advice(cfg.gaze.eye_contact_tolerance_deg)
    if advice is not None:
        print(f"note: {advice}", file=sys.stderr)
    return apply(cfg, cal)


def _run(
    opts: LiveOptions,
    models: ModelPaths,
    cfg: AnalyzerConfig,
    source: FrameSource,
    stack: contextlib.ExitStack,
) -> LiveResult:
    info = source.info
    if info.kind == SourceKind.IMAGE:
        raise InputError(f"{opts.source}: live mode needs a camera or a video, not an image")
    if opts.calibrate and opts.people != 1:
        raise InputError("--calibrate is for one person practising alone (--people 1)")
    if opts.window:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    if opts.calibrate:
        calibrated = _calibrate(opts, models, cfg, source, lambda img: _show(opts, img))
        if calibrated is None:  # the window was closed during the calibration
            cv2.destroyAllWindows()
            return LiveResult(frames=0, dropped=0, seconds=0.0, mean_fps=0.0)
        cfg = calibrated
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


def _show(opts: LiveOptions, img: ImageArray) -> bool:
    """Show a calibration frame; False when the person quits (q or Esc)."""
    if not opts.window:
        return True
    cv2.imshow(WINDOW, img[:, :, ::-1])
    quit_key = (cv2.waitKey(1) & 0xFF) in (ord("q"), 27)
    return not quit_key and cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) >= 1
