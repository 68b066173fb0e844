"""The worker process: analyze one job and record its outcome (``run_worker`` is the target of
a spawned process, one per attempt).

The worker works inside the job's upload folder on the stored name (``upload.mp4``), so the
analysis libraries, their messages and the job's log never see the data folder's path or the
client's file name; the report gets the client's file name back at the end, and failure reasons
go through ``api.reasons.client_reason``. Everything it writes is private (umask 0077).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.segments import default_jobs, die_with_parent
from api import split, store
from api.db import Analysis, make_engine
from api.privacy import private_umask
from api.reasons import client_reason
from api.results import result_key
from api.settings import ApiSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from analyzer.config import AnalyzerConfig
    from analyzer.errors import AnalyzerError
    from analyzer.models import ModelPaths
    from api.options import AnalysisOptions

HEARTBEAT_S = 1.0


class Planned(Exception):  # noqa: N818 (not an error: control flow)
    """The video was planned as segments for other workers (cluster mode): no report here."""


def run_worker(
    job_id: str,
    attempt: int,
    settings_data: dict[str, Any],
    stage: str = "whole",
    index: int | None = None,
) -> None:
    """Entry point of a worker process: one stage of one attempt, and its outcome recorded.
    ``stage``: "whole" (analyze it; in cluster mode a long video is planned as segments
    instead, ``api.split``), "segment" (observe segment ``index``) or "stitch" (the report of
    the observed segments)."""
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    private_umask()
    settings = ApiSettings.model_validate(settings_data)
    engine = make_engine(settings.db_url)
    stop = threading.Event()
    progress_box = {"value": split.PLANNED + split.SEGMENTS if stage == "stitch" else 0.0}

    def report_progress() -> bool:
        if stage == "segment" and index is not None:
            return split.segment_beat(engine, job_id, attempt, index, progress_box["value"])
        return store.heartbeat(engine, job_id, attempt, progress_box["value"])

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            if os.getppid() != parent:
                os._exit(1)
            with contextlib.suppress(Exception):
                if not report_progress():
                    if stop.is_set():  # our own outcome is being recorded: not superseded
                        return
                    _forget_local_copies(settings, job_id)
                    os._exit(0)  # deleted or re-queued meanwhile: nothing more to do here

    beating = threading.Thread(target=beat, name="heartbeat", daemon=True)
    beating.start()
    job = store.get(engine, job_id)
    local = None if job is None else store.local_upload(job, settings)
    if job is None or job.upload_path is None or local is None:
        return
    objects = store.storage(settings)
    if stage != "segment":
        store.remove_partial_results(settings, job_id)  # what an interrupted attempt left
    log_path = settings.logs_dir / f"{job_id}.log"
    report_ready = stage != "segment"
    try:
        if objects is not None:  # the upload is in the object store: fetch it here
            shutil.rmtree(local.parent, ignore_errors=True)
            objects.get_file(job.upload_path, local)
        job.upload_path = str(local)
        if stage == "segment":
            assert index is not None
            outcome = _observe(job, attempt, index, settings, progress_box, log_path)
        else:
            outcome = _analyze(job, attempt, stage, settings, engine, progress_box, log_path)
        if outcome is None and report_ready and objects is not None:  # results into the store
            objects.put_folder(settings.results_dir / job_id, result_key(job_id, attempt))
    except Planned:
        report_ready = False
        outcome = None
    except Exception as e:  # a bug: the user sees one line, the log keeps the traceback
        with log_path.open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        outcome = f"internal error ({type(e).__name__}); the log is {log_path.name}"
    stop.set()
    beating.join(timeout=30)  # no heartbeat write overlaps the outcome's (row-lock order)
    if outcome is None and not report_ready:  # a segment observed, or a video planned
        log_path.unlink(missing_ok=True)  # (a whole or stitch run removes it when done)
    if outcome is None and stage == "segment":
        assert index is not None
        split.segment_done(engine, job_id, attempt, index)  # the last one defers the stitch
    elif outcome is None and report_ready:
        if store.finish(engine, job_id, attempt):
            log_path.unlink(missing_ok=True)
        elif not _finished_by_another_run(engine, job_id, attempt):
            # deleted or superseded meanwhile: these results are nobody's (a stitch run twice
            # wrote the same attempt's results, which the run that finished it serves)
            shutil.rmtree(settings.results_dir / job_id, ignore_errors=True)
            if objects is not None:
                objects.remove(result_key(job_id, attempt))
    elif outcome is not None:
        store.fail(engine, job_id, attempt, outcome)
    if objects is not None:  # this machine keeps no copies
        shutil.rmtree(local.parent, ignore_errors=True)
        shutil.rmtree(settings.results_dir / job_id, ignore_errors=True)
    current = store.get(engine, job_id)
    if current is None:  # deleted meanwhile: whatever this run left in the work store goes
        split.remove_work(settings, job_id)
    elif current.status in ("done", "failed"):
        store.remove_upload(current, settings)
        split.remove_work(settings, job_id)
    elif current.attempts != attempt:  # superseded: this attempt's work files are nobody's
        split.remove_work(settings, job_id, attempt)
    engine.dispose()


def _finished_by_another_run(engine: Engine, job_id: str, attempt: int) -> bool:
    current = store.get(engine, job_id)
    return current is not None and current.status == "done" and current.attempts == attempt


def _forget_local_copies(settings: ApiSettings, job_id: str) -> None:
    """With an object store, this machine's copies of a job it no longer runs (the store and
    the record are the truth; the API node removes those)."""
    if store.storage(settings) is None:
        return
    shutil.rmtree(settings.uploads_dir / job_id, ignore_errors=True)
    shutil.rmtree(settings.results_dir / job_id, ignore_errors=True)
    store.remove_partial_results(settings, job_id)
    (settings.logs_dir / f"{job_id}.log").unlink(missing_ok=True)


def _models(settings: ApiSettings) -> ModelPaths:
    from analyzer.models import ModelPaths, model_paths

    found = model_paths(settings.models_dir, settings.cache_dir)
    return ModelPaths(face=found.face.absolute(), pose=found.pose.absolute())


def _reason(e: AnalyzerError, media: Path, job: Analysis, settings: ApiSettings) -> str:
    return client_reason(
        str(e),
        upload=media,
        name=job.input_name,
        roots=(settings.data_dir, settings.models_dir, settings.cache_dir),
    )


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """What running a part of an analysis needs: the upload (relative to the working folder),
    the options and settings it was asked with, the models."""

    media: Path
    options: AnalysisOptions
    cfg: AnalyzerConfig
    models: ModelPaths


def _media(job: Analysis) -> Path:
    assert job.upload_path is not None
    return Path(Path(job.upload_path).name)  # relative to the upload folder


@contextlib.contextmanager
def _prepared(job: Analysis, settings: ApiSettings, log_path: Path) -> Iterator[_Prepared]:
    """The job's options and models, the upload folder as the working folder (so no path of
    the server appears in a message), MediaPipe's native log diverted to ``log_path``."""
    from analyzer.native_logs import divert_native_stderr
    from api.options import AnalysisOptions

    assert job.upload_path is not None
    options = AnalysisOptions.model_validate(json.loads(job.options))
    cfg = options.to_config()
    models = _models(settings)
    os.chdir(Path(job.upload_path).parent)
    with divert_native_stderr(log_path):
        yield _Prepared(_media(job), options, cfg, models)


def _observe(
    job: Analysis,
    attempt: int,
    index: int,
    settings: ApiSettings,
    progress_box: dict[str, float],
    log_path: Path,
) -> str | None:
    """Observe one segment of a split video into the work store; None on success, else the
    one-line reason it failed."""
    from analyzer.errors import AnalyzerError
    from analyzer.segments import observe_segment

    planned = split.load_plan(settings, job.id, attempt)
    segment = planned.segments[index]
    end_s = segment.end_s if segment.end_s is not None else planned.plan.duration_s
    length_s = max(1e-3, (end_s or segment.start_s + 1.0) - segment.start_s)
    try:
        with _prepared(job, settings, log_path) as run:
            result = observe_segment(
                str(run.media),
                run.models,
                run.cfg,
                planned.plan,
                segment,
                progress=lambda done_s: progress_box.__setitem__("value", done_s / length_s),
            )
    except AnalyzerError as e:
        return _reason(e, _media(job), job, settings)
    split.save_segment(settings, job.id, attempt, result)
    return None


def _analyze(
    job: Analysis,
    attempt: int,
    stage: str,
    settings: ApiSettings,
    engine: Engine,
    progress_box: dict[str, float],
    log_path: Path,
) -> str | None:
    """Run the pipeline (``stage`` "whole") or stitch the observed segments ("stitch") and
    write the outputs; None on success, else the one-line reason it failed. Raises
    ``Planned`` when a long video was planned as segments instead (cluster mode)."""
    from analyzer.errors import AnalyzerError, OutputError
    from analyzer.outputs.reel import with_reel
    from analyzer.outputs.report import FileWriter, write_outputs
    from analyzer.outputs.report_html import report_page
    from analyzer.pipeline import analyze, analyze_observed, plan_split
    from analyzer.video import open_source

    media = _media(job)
    try:
        with _prepared(job, settings, log_path) as run:
            if stage == "stitch":
                planned = split.load_plan(settings, job.id, attempt)
                results = split.observed(settings, job.id, attempt, len(planned.segments))
                report = analyze_observed(media, results, run.cfg, planned.plan)
            else:
                with open_source(media, decode=False) as header:
                    duration_s = header.info.duration_s
                if split.should_split(settings, duration_s):
                    planned = plan_split(media, run.models, run.cfg, settings.split_segment_s)
                    if len(planned.segments) > 1:
                        split.record_split(engine, settings, job.id, attempt, planned)
                        raise Planned
                report = analyze(
                    media,
                    run.models,
                    run.cfg,
                    progress=lambda f: progress_box.__setitem__("value", f),
                    jobs=settings.jobs or max(1, default_jobs() // max(1, settings.workers)),
                )
        report = dataclasses.replace(
            report, video=dataclasses.replace(report.video, name=job.input_name)
        )
        extras: dict[str, FileWriter] = {}
        if run.options.reel:
            report, reel = with_reel(media, report, asked=False)
            if reel is not None:
                extras["reel.mp4"] = reel
        html = report_page(report, media)
        write_outputs(report, settings.results_dir / job.id, html=html, extras=extras)
    except OutputError as e:  # the results folder: the server's problem, not the video's
        cause = re.search(r"\(([^()]*)\)$", str(e))
        return "the server could not save the results" + (f" ({cause[1]})" if cause else "")
    except AnalyzerError as e:
        return _reason(e, media, job, settings)
    return None
