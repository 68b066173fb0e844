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
from pathlib import Path
from typing import Any

from analyzer.segments import default_jobs, die_with_parent
from api import store
from api.db import Analysis, make_engine
from api.privacy import private_umask
from api.reasons import client_reason
from api.results import result_key
from api.settings import ApiSettings

HEARTBEAT_S = 1.0


def run_worker(job_id: str, attempt: int, settings_data: dict[str, Any]) -> None:
    """Entry point of a worker process: analyze one job and record the outcome."""
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    private_umask()
    settings = ApiSettings.model_validate(settings_data)
    engine = make_engine(settings.db_url)
    stop = threading.Event()
    progress_box = {"value": 0.0}

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            if os.getppid() != parent:
                os._exit(1)
            with contextlib.suppress(Exception):
                if not store.heartbeat(engine, job_id, attempt, progress_box["value"]):
                    if stop.is_set():  # our own outcome is being recorded: not superseded
                        return
                    _forget_local_copies(settings, job_id)
                    os._exit(0)  # deleted or re-queued meanwhile: nothing more to do here

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    job = store.get(engine, job_id)
    local = None if job is None else store.local_upload(job, settings)
    if job is None or job.upload_path is None or local is None:
        return
    objects = store.storage(settings)
    store.remove_partial_results(settings, job_id)  # what an interrupted attempt left
    log_path = settings.logs_dir / f"{job_id}.log"
    try:
        if objects is not None:  # the upload is in the object store: fetch it here
            shutil.rmtree(local.parent, ignore_errors=True)
            objects.get_file(job.upload_path, local)
        job.upload_path = str(local)
        outcome = _analyze(job, settings, progress_box, log_path)
        if outcome is None and objects is not None:  # results back into the store
            objects.put_folder(settings.results_dir / job_id, result_key(job_id, attempt))
    except Exception as e:  # a bug: the user sees one line, the log keeps the traceback
        with log_path.open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        outcome = f"internal error ({type(e).__name__}); the log is {log_path.name}"
    stop.set()
    if outcome is None:
        if store.finish(engine, job_id, attempt):
            log_path.unlink(missing_ok=True)
        else:  # deleted or superseded meanwhile: these results are nobody's
            shutil.rmtree(settings.results_dir / job_id, ignore_errors=True)
            if objects is not None:
                objects.remove(result_key(job_id, attempt))
    else:
        store.fail(engine, job_id, attempt, outcome)
    if objects is not None:  # this machine keeps no copies
        shutil.rmtree(local.parent, ignore_errors=True)
        shutil.rmtree(settings.results_dir / job_id, ignore_errors=True)
    current = store.get(engine, job_id)
    if current is not None and current.status in ("done", "failed"):
        store.remove_upload(current, settings)
    engine.dispose()


def _forget_local_copies(settings: ApiSettings, job_id: str) -> None:
    """With an object store, this machine's copies of a job it no longer runs (the store and
    the record are the truth; the API node removes those)."""
    if store.storage(settings) is None:
        return
    shutil.rmtree(settings.uploads_dir / job_id, ignore_errors=True)
    shutil.rmtree(settings.results_dir / job_id, ignore_errors=True)
    store.remove_partial_results(settings, job_id)
    (settings.logs_dir / f"{job_id}.log").unlink(missing_ok=True)


def _analyze(
    job: Analysis, settings: ApiSettings, progress_box: dict[str, float], log_path: Path
) -> str | None:
    """Run the pipeline; None on success, else the one-line reason it failed."""
    from analyzer.errors import AnalyzerError, OutputError
    from analyzer.models import ModelPaths, model_paths
    from analyzer.native_logs import divert_native_stderr
    from analyzer.outputs.reel import with_reel
    from analyzer.outputs.report import FileWriter, write_outputs
    from analyzer.outputs.report_html import report_page
    from analyzer.pipeline import analyze
    from api.options import AnalysisOptions

    assert job.upload_path is not None
    stored = Path(job.upload_path)
    media = Path(stored.name)  # relative to the upload folder, the working folder from here on
    try:
        options = AnalysisOptions.model_validate(json.loads(job.options))
        cfg = options.to_config()
        found = model_paths(settings.models_dir, settings.cache_dir)
        models = ModelPaths(face=found.face.absolute(), pose=found.pose.absolute())
        os.chdir(stored.parent)
        with divert_native_stderr(log_path):
            report = analyze(
                media,
                models,
                cfg,
                progress=lambda f: progress_box.__setitem__("value", f),
                jobs=settings.jobs or max(1, default_jobs() // max(1, settings.workers)),
            )
        report = dataclasses.replace(
            report, video=dataclasses.replace(report.video, name=job.input_name)
        )
        extras: dict[str, FileWriter] = {}
        if options.reel:
            report, reel = with_reel(media, report, asked=False)
            if reel is not None:
                extras["reel.mp4"] = reel
        html = report_page(report, media)
        write_outputs(report, settings.results_dir / job.id, html=html, extras=extras)
    except OutputError as e:  # the results folder: the server's problem, not the video's
        cause = re.search(r"\(([^()]*)\)$", str(e))
        return "the server could not save the results" + (f" ({cause[1]})" if cause else "")
    except AnalyzerError as e:
        return client_reason(
            str(e),
            upload=media,
            name=job.input_name,
            roots=(settings.data_dir, settings.models_dir, settings.cache_dir),
        )
    return None
