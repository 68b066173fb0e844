"""The ``presence`` command.

Exit codes: 0 done; 2 bad input or usage; 3 models unavailable; 4 no person found; 5 output
folder problem; 1 other analysis error; 70 internal error (a bug: please report it);
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn, TypeAlias

from analyzer import __version__, calibration
from analyzer.config import AnalyzerConfig, EpisodeConfig, GazeConfig, Layout, LiveConfig
from analyzer.errors import AnalyzerError, InputError
from analyzer.models import FACE_LANDMARKER, POSE_LANDMARKER_FULL, ModelStore, model_paths
from analyzer.segments import default_jobs
from analyzer.settings import AnalyzerSettings


def _between(kind: type[float] | type[int], lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` from ``lo`` to ``hi``; anything else is a usage
    error (exit 2) that says what is allowed."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not lo <= v <= hi or v != v:  # v != v: NaN
            raise argparse.ArgumentTypeError(f"must be from {lo:g} to {hi:g}, got {text}")
        return v

    return parse


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (with where to find help), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"
MODELS_DIR_HELP = (
    "folder holding face_landmarker.task and pose_landmarker_full.task, used as "
    "given (default: $PRESENCE_MODELS_DIR, else download into the user cache)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="presence",
        description="Measure eye contact, openness, expressiveness and nods per person in a video. "
        "Everything runs on this machine; nothing is uploaded.",
    )
    parser.add_argument("--version", action="version", version=f"presence {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show MediaPipe's own log lines and full tracebacks"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_analyze,
        _add_eval,
        _add_progress,
        _add_live,
        _add_serve,
        _add_worker,
        _add_keys,
        _add_models,
    ):
        add(sub)
    return parser


def _add_analyze(sub: Subparsers) -> None:
    """``presence analyze``: one file in, a report folder out."""
    a = sub.add_parser(
        "analyze",
        help="analyze a video file or an image",
        description="Analyze a video file or an image and write report.json and timeline.csv.",
    )
    a.add_argument("input", help="video file or image")
    a.add_argument("--out", type=Path, help="output folder (default: ./<input name>.presence/)")
    a.add_argument(
        "--fps",
        type=_between(float, 0.5, 60),
        default=AnalyzerConfig().analysis_fps,
        help="frames analyzed per second of video (default: %(default)g)",
    )
    a.add_argument(
        "--layout",
        choices=[x.value for x in Layout],
        default=Layout.AUTO.value,
        help=(
            "how people are arranged: a two-tile video-call gallery (side-by-side, stacked), "
            "speaker view with a small inset (pip), or one scene (default: auto)"
        ),
    )
    a.add_argument(
        "--max-people",
        type=_between(int, 1, 8),
        help="most people per scene or tile (default: decided from a quick look)",
    )
    a.add_argument(
        "--pose-every",
        type=_between(int, 1, 30),
        default=AnalyzerConfig().pose_every_n,
        help="run the body model on every n-th analyzed frame (default: %(default)s)",
    )
    a.add_argument(
        "--staring-s",
        type=_between(float, 1, 600),
        default=EpisodeConfig().staring_min_s,
        help="unbroken eye contact at least this long is reported as staring "
        "(default: %(default)g)",
    )
    a.add_argument(
        "--look-away-s",
        type=_between(float, 0.5, 600),
        default=EpisodeConfig().look_away_min_s,
        help="looking away at least this long is reported as an episode (default: %(default)g)",
    )
    a.add_argument(
        "--eye-contact-tolerance-deg",
        type=_between(float, 1, 45),
        default=GazeConfig().eye_contact_tolerance_deg,
        help="gaze within this angle of the camera counts as eye contact (default: %(default)g)",
    )
    a.add_argument(
        "--calibration",
        type=Path,
        help="a calibration file from `presence live --calibrate --calibration-file` (one "
        "person's): their vertical gaze offset is taken off, as in the practice mode",
    )
    a.add_argument(
        "--annotate",
        action="store_true",
        help="also write annotated.mp4: the video with the overlay burned in",
    )
    a.add_argument(
        "--reel",
        action="store_true",
        help="also write reel.mp4: the moments of connection of two people, about a minute, "
        "with sound and captions, to watch together",
    )
    a.add_argument(
        "--format",
        action="append",
        choices=["eaf"],
        help="extra output formats: eaf (ELAN annotation tiers); repeatable",
    )
    a.add_argument(
        "--jobs",
        type=_between(int, 1, 64),
        default=None,
        help="processes a video is analyzed in, in segments, one per core (default: "
        f"PRESENCE_JOBS or every core: {default_jobs()} here)",
    )
    a.add_argument("--models-dir", type=Path, help=MODELS_DIR_HELP)
    a.add_argument("-q", "--quiet", action="store_true", help="no summary and no progress bar")
    a.set_defaults(run=_cmd_analyze)


def _add_eval(sub: Subparsers) -> None:
    """``presence eval``: accuracy against labelled manifests."""
    e = sub.add_parser(
        "eval",
        help="measure accuracy against labelled manifests",
        description="Run the pipeline on labelled media (CSV manifests, see "
        "eval/LABELLING.md) and print precision, recall, F1, MCC, kappa and "
        "coverage per signal, and Spearman's rho for expressiveness ratings.",
    )
    e.add_argument("manifests", nargs="+", type=Path, help="manifest CSV files")
    e.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    e.add_argument("--markdown", type=Path, help="also write a Markdown report to this file")
    e.add_argument("--notes", type=Path, help="Markdown text to append to the report")
    e.add_argument("--models-dir", type=Path, help=MODELS_DIR_HELP)
    e.set_defaults(run=_cmd_eval)


def _add_progress(sub: Subparsers) -> None:
    """``presence progress``: measures across sessions."""
    pg = sub.add_parser(
        "progress",
        help="each measure across several sessions (report.json files or output folders)",
        description="A coach's view: each person's measures across sessions, oldest first, "
        "dated by when each report was written.",
    )
    pg.add_argument("reports", nargs="+", type=Path, help="report.json files or .presence folders")
    pg.add_argument("--html", type=Path, help="also write a page of charts to this file")
    pg.set_defaults(run=_cmd_progress)


def _add_live(sub: Subparsers) -> None:
    """``presence live``: the practice overlay."""
    lv = sub.add_parser(
        "live",
        help="practise with a live overlay from a camera or a video",
        description="Live practice: eye contact, streak and gentle cues drawn over a camera "
        "(or a video file played as one). Keys in the window: q quit, r reset, s snapshot.",
    )
    lv.add_argument(
        "--source", default="0", help="camera index (default: 0) or a video file played as a camera"
    )
    lv.add_argument("--no-window", action="store_true", help="no window (headless)")
    lv.add_argument("--output", type=Path, help="write the overlaid video (H.264 MP4) here")
    lv.add_argument(
        "--report", type=Path, help="write report.json and timeline.csv into this folder at the end"
    )
    lv.add_argument(
        "--people", type=_between(int, 1, 4), default=1, help="people to follow (default: 1)"
    )
    lv.add_argument(
        "--seconds", type=_between(float, 0.1, 86400), help="stop after this many seconds"
    )
    lv.add_argument(
        "--staring-s",
        type=_between(float, 1, 600),
        default=LiveConfig().soften_gaze_after_s,
        help="suggest softening the gaze after this long (default: %(default)g)",
    )
    lv.add_argument(
        "--calibrate",
        action="store_true",
        help="start with a 10 s eye-contact calibration: look into the lens, then at the middle "
        "of the screen, when asked",
    )
    lv.add_argument(
        "--calibration-file",
        type=Path,
        help="with --calibrate: save the calibration here (for `presence analyze "
        "--calibration`); without: use the one saved here",
    )
    lv.add_argument("--models-dir", type=Path, help=MODELS_DIR_HELP)
    lv.set_defaults(run=_cmd_live)


def _add_serve(sub: Subparsers) -> None:
    """``presence serve``: the HTTP service."""
    sv = sub.add_parser(
        "serve",
        help="start the HTTP service (FastAPI under uvicorn)",
        description="Start the Presence API. Settings come from PRESENCE_* "
        "environment variables (PRESENCE_DATA_DIR, PRESENCE_WORKERS, "
        "PRESENCE_MAX_UPLOAD_MB, ...; see README).",
    )
    sv.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only)",
    )
    sv.add_argument(
        "--port", type=_between(int, 1, 65535), default=8000, help="default: %(default)s"
    )
    sv.set_defaults(run=_cmd_serve)


def _add_worker(sub: Subparsers) -> None:
    """``presence worker``: analyses of a cluster's queue."""
    w = sub.add_parser(
        "worker",
        help="run analysis workers for a cluster (PostgreSQL + Procrastinate)",
        description="Take analyses from the service's queue in PostgreSQL (PRESENCE_DATABASE_URL) "
        "and run them, reading uploads from and writing results to PRESENCE_STORAGE_URL. "
        "SIGTERM drains: running analyses finish, no new ones start. See docs/deploy.md.",
    )
    w.add_argument(
        "--concurrency",
        type=_between(int, 1, 64),
        default=None,
        help=f"analyses at once (default: one per core, {default_jobs()} here)",
    )
    w.set_defaults(run=_cmd_worker)


def _add_keys(sub: Subparsers) -> None:
    """``presence keys``: the service's API keys."""
    k = sub.add_parser("keys", help="create, list or revoke API keys for the service")
    ksub = k.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    kc = ksub.add_parser("create", help="make a key; it is printed once, on the last line")
    kc.add_argument("--name", required=True, help="who the key is for")
    ksub.add_parser("list", help="list keys (never the keys themselves)")
    kr = ksub.add_parser("revoke", help="revoke a key by its id or prefix")
    kr.add_argument("key", help="the key's id or prefix, as `keys list` shows them")
    k.set_defaults(run=_cmd_keys)


def _add_models(sub: Subparsers) -> None:
    """``presence models``: the model bundles."""
    m = sub.add_parser("models", help="list or download the model bundles")
    m.add_argument("action", choices=["list", "fetch"])
    m.add_argument("--models-dir", type=Path, help=MODELS_DIR_HELP)
    m.set_defaults(run=_cmd_models)


def _store(models_dir: Path | None) -> ModelStore:
    settings = AnalyzerSettings()
    explicit = models_dir or settings.models_dir
    return ModelStore(explicit_dir=explicit, cache_dir=settings.cache_dir)


def _default_out(input_spec: str) -> Path:
    return Path.cwd() / f"{Path(input_spec).stem or 'input'}.presence"


def _cmd_analyze(args: argparse.Namespace) -> int:
    from analyzer.native_logs import divert_native_stderr
    from analyzer.outputs.annotate import GeometryRecorder, annotate_video
    from analyzer.outputs.report import FileWriter, check_output_dir, summary, write_outputs
    from analyzer.outputs.report_html import report_page
    from analyzer.pipeline import analyze
    from analyzer.types import SourceKind

    if str(args.input).isdigit():
        raise InputError(
            f"{args.input}: cameras are for live mode (webcam_demo.py / presence "
            f"live); analyze takes a file"
        )
    cfg = AnalyzerConfig(
        analysis_fps=args.fps,
        max_people=args.max_people,
        pose_every_n=args.pose_every,
        layout=Layout(args.layout),
        gaze=GazeConfig(eye_contact_tolerance_deg=args.eye_contact_tolerance_deg),
        episodes=EpisodeConfig(staring_min_s=args.staring_s, look_away_min_s=args.look_away_s),
    )
    if args.calibration is not None:
        cfg = calibration.apply(cfg, calibration.load(args.calibration))
    out_dir: Path = args.out or _default_out(args.input)
    check_output_dir(out_dir)  # fail before minutes of work, not after
    models = model_paths(args.models_dir)

    # Native log lines go to a file first; the bar is made after, on the real terminal.
    with contextlib.ExitStack() as stack:
        if not args.debug:
            stack.enter_context(divert_native_stderr())
        progress = stack.enter_context(_progress_bar(enabled=not args.quiet))
        recorder = GeometryRecorder() if args.annotate else None
        jobs = args.jobs or AnalyzerSettings().jobs
        report = analyze(args.input, models, cfg, progress=progress, on_frame=recorder, jobs=jobs)
    if args.calibration is not None and len(report.people) > 1:
        report = replace(
            report,
            warnings=(
                *report.warnings,
                f"the calibration (one person's) was applied to all {len(report.people)} people",
            ),
        )
    media = Path(args.input)
    extras: dict[str, FileWriter] = {}
    if recorder is not None and report.video.kind == SourceKind.VIDEO:
        extras["annotated.mp4"] = lambda p: annotate_video(media, report, recorder, p)
    if args.reel:
        from analyzer.outputs.reel import with_reel

        report, reel = with_reel(media, report)
        if reel is not None:
            extras["reel.mp4"] = reel
    if "eaf" in (args.format or []):
        from analyzer.outputs.eaf import write_eaf

        extras[f"{media.stem}.eaf"] = lambda p: write_eaf(report, p, media.resolve())
    write_outputs(report, out_dir, html=report_page(report, media), extras=extras)
    if not args.quiet:
        print(summary(report))
        names = ["report.json", "timeline.csv", "report.html", *extras]
        print(f"wrote {', '.join(names)} into {out_dir}")
    return 0


class _progress_bar:  # noqa: N801 - used as a context manager, reads like a function
    """A tqdm bar on stderr that appears only if the work takes more than a couple of seconds."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: object | None = None

    def __enter__(self) -> Callable[[float], None] | None:
        if not self.enabled:
            return None
        from tqdm import tqdm

        bar = tqdm(
            disable=None,  # only on a terminal: no bar noise in logs or pipes
            total=100,
            unit="%",
            delay=2.0,
            file=sys.stderr,
            leave=False,
            bar_format="{l_bar}{bar}| {elapsed}<{remaining}",
            desc="analyzing",
        )
        self._bar = bar

        def update(fraction: float) -> None:
            target = round(fraction * 100)
            if target > bar.n:
                bar.update(target - bar.n)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()  # type: ignore[attr-defined]


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from analyzer.evaluation import evaluate_manifest, markdown_report, text_table
    from analyzer.native_logs import divert_native_stderr
    from analyzer.pipeline import analyze

    cfg = AnalyzerConfig()
    models = model_paths(args.models_dir)
    with contextlib.ExitStack() as stack:
        if not args.debug:
            stack.enter_context(divert_native_stderr())
        results = [
            evaluate_manifest(path, lambda f: analyze(f, models, cfg), cfg)
            for path in args.manifests
        ]
    print(text_table(results))
    if args.json:
        payload = {"settings": cfg.as_dict(), "results": [r.as_dict() for r in results]}
        _write_text(args.json, json.dumps(payload, indent=2) + "\n")
    if args.markdown:
        notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
        found = [m.parent / "agreement.json" for m in args.manifests]
        agreement = json.loads(found[0].read_text()) if found and found[0].is_file() else {}
        _write_text(args.markdown, markdown_report(results, notes, agreement))
    return 0


def _write_text(path: Path, text: str) -> None:
    from analyzer.errors import OutputError

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({e.strerror})") from e


def _cmd_progress(args: argparse.Namespace) -> int:
    from analyzer.outputs.progress import load_sessions, progress
    from analyzer.outputs.progress_page import progress_html, progress_table

    points = progress(load_sessions(args.reports))
    print(progress_table(points))
    if args.html:
        _write_text(args.html, progress_html("Progress", points))
        print(f"wrote {args.html}")
    return 0


def _cmd_live(args: argparse.Namespace) -> int:
    from analyzer.live.desktop import LiveOptions, run_live
    from analyzer.outputs.report import check_output_dir

    if args.no_window and args.output is None and args.report is None:
        raise InputError("--no-window needs --output or --report, or there is nothing to see")
    if not args.no_window and not _has_display():
        raise InputError(
            "no display to show the practice window on; use --no-window with --output "
            "(an overlaid video) or --report"
        )
    if args.report is not None:
        check_output_dir(args.report)
    models = model_paths(args.models_dir)
    cfg = AnalyzerConfig(live=LiveConfig(soften_gaze_after_s=args.staring_s))
    if args.calibration_file is not None and not args.calibrate:
        cfg = calibration.apply(cfg, calibration.load(args.calibration_file))
    if args.calibration_file is not None and args.calibrate:  # before the 10 s, not after
        folder = args.calibration_file.absolute().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise InputError(f"{args.calibration_file}: cannot save the calibration there")
    opts = LiveOptions(
        source=args.source,
        window=not args.no_window,
        output=args.output,
        report_dir=args.report,
        people=args.people,
        max_seconds=args.seconds,
        quiet_native_logs=not args.debug,
        calibrate=args.calibrate,
        calibration_out=args.calibration_file if args.calibrate else None,
    )
    run_live(opts, models, cfg)
    return 0


def _has_display() -> bool:
    """A screen to open a window on (on Linux, an X11 or Wayland display is set)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _cmd_worker(args: argparse.Namespace) -> int:
    from api.settings import get_settings

    concurrency = args.concurrency or default_jobs()
    # each analysis then uses its share of the cores, not all of them (concurrency x cores
    # processes would each hold the models)
    os.environ.setdefault("PRESENCE_JOBS", str(max(1, default_jobs() // concurrency)))
    get_settings.cache_clear()
    settings = get_settings()
    if not settings.cluster:
        raise InputError(
            "presence worker runs the jobs of a cluster: set PRESENCE_DATABASE_URL to a "
            "postgresql:// address (presence serve runs its own workers otherwise)"
        )
    try:
        from api.cluster import run_worker_node
    except ImportError as e:
        raise InputError(
            f"cluster mode needs its extra packages: pip install 'presence[cluster]' ({e.name})"
        ) from None
    print(
        f"presence: worker with {concurrency} at once, {settings.jobs} process(es) each",
        file=sys.stderr,
    )
    run_worker_node(settings, concurrency)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from api.serve import serve
    from api.settings import get_settings

    settings = get_settings()
    print(
        f"presence: serving on http://{args.host}:{args.port} (data in {settings.data_dir}); "
        f"API docs at /docs",
        file=sys.stderr,
    )
    serve(settings, args.host, args.port)
    return 0


def _cmd_keys(args: argparse.Namespace) -> int:
    from api.db import make_engine, migrate
    from api.keys import create_key, list_keys, revoke_key
    from api.privacy import prepare_data_dir
    from api.settings import get_settings

    settings = get_settings()
    prepare_data_dir(settings)  # private (0700/0600) whatever the umask
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        if args.keys_action == "create":
            try:
                new = create_key(engine, args.name)
            except ValueError as e:
                raise InputError(str(e)) from e
            print(f"created key {new.id} for {new.name!r}; it is shown only this once:")
            print(new.key)
        elif args.keys_action == "list":
            for row in list_keys(engine):
                state = "revoked" if row.revoked_at else "active"
                print(
                    f"{row.id}\t{row.prefix}…\t{row.name}\t{state}\t"
                    f"created {row.created_at:%Y-%m-%d %H:%M}"
                )
        else:
            try:
                row = revoke_key(engine, args.key)
            except LookupError as e:
                raise InputError(str(e)) from e
            print(f"revoked key {row.id} ({row.name})")
    finally:
        engine.dispose()
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    store = _store(args.models_dir)
    if args.action == "fetch":
        if store.explicit_dir is not None:
            for st in store.status():
                store.path(st.spec)  # raises a clear error if missing
            print(f"models folder {store.explicit_dir} is set explicitly; nothing to download")
            return 0
        for spec in (FACE_LANDMARKER, POSE_LANDMARKER_FULL):
            path = store.path(spec)
            print(f"{spec.filename}: ok ({path})")
        return 0
    where = "explicit folder" if store.explicit_dir is not None else "user cache"
    print(f"models folder: {store.folder} ({where})")
    for st in store.status():
        if not st.present:
            state = "missing"
        elif st.digest_ok is None:
            state = "present (used as given)"
        else:
            state = "ok" if st.digest_ok else "digest mismatch: will be downloaded again"
        print(f"  {st.spec.filename}: {state}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except AnalyzerError as e:
        print(f"presence: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("presence: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: one line for the user, the traceback with --debug
        if args.debug:
            traceback.print_exc()
        first = (str(e).strip().splitlines() or [""])[0][:300]
        print(
            f"presence: internal error: {type(e).__name__}: {first} (run with --debug for "
            f"details, and please report it)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
