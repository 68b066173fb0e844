"""Durable analysis jobs: the database is the queue, each analysis runs in its own process.

Life of a job: ``queued`` (row written when the upload is accepted) -> ``running`` (the
dispatcher claims it, bumps ``attempts`` and starts a worker process) -> ``done`` or ``failed``
(the worker writes the outcome). Nothing is kept only in memory:

* a worker reports a heartbeat every second; a ``running`` job whose heartbeat is older than
  ``heartbeat_timeout_s`` (its server was killed, its process crashed) goes back to ``queued``,
  up to ``max_attempts`` times, then ``failed`` with a clear error;
* a worker whose parent server dies exits at once (Linux parent-death signal, plus a check in
  its heartbeat), so a restarted server never races an orphan for the same job;
* every write a worker makes is fenced on ``(id, attempts)``: a worker whose job was re-queued,
  re-claimed or deleted cannot overwrite the newer state, and throws its results away.

Why not a task-queue library: the ones with durable queues need Redis or PostgreSQL as a broker,
and the SQLite-backed ones drop a task that was running when the process died. Here the job row
*is* the queue, which is what makes restarts safe on the default, zero-configuration store.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.db import Analysis, make_engine, utcnow
from api.settings import ApiSettings

log = logging.getLogger("presence.jobs")
POLL_S = 0.5
HEARTBEAT_S = 1.0


@dataclass
class _Running:
    job_id: str
    attempt: int
    process: multiprocessing.process.BaseProcess


class Dispatcher:
    """Starts queued jobs in worker processes, at most ``settings.workers`` at once."""

    def __init__(self, settings: ApiSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._ctx = multiprocessing.get_context("spawn")
        self._running: dict[str, _Running] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._last_cleanup = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop dispatching; interrupt running workers and put their jobs back in the queue."""
        self._stop.set()
        self._thread.join(timeout=timeout_s)
        for r in list(self._running.values()):
            if r.process.is_alive():
                r.process.terminate()
            r.process.join(timeout=timeout_s)
            if r.process.is_alive():
                r.process.kill()
                r.process.join()
            requeue(self.engine, r.job_id, r.attempt, reason="server stopped")
        self._running.clear()

    @property
    def running(self) -> int:
        return len(self._running)

    def _loop(self) -> None:
        last_error = ""
        while not self._stop.is_set():
            try:
                self.tick()
                last_error = ""
            except Exception as e:  # keep dispatching; the database may be briefly locked
                if str(e) != last_error:  # log each new problem once, not twice a second
                    log.exception("dispatcher tick failed")
                last_error = str(e)
            self._stop.wait(POLL_S)

    def tick(self) -> None:
        self._reap()
        requeue_stale(self.engine, self.settings)
        while len(self._running) < self.settings.workers and not self._stop.is_set():
            claimed = claim_next(self.engine)
            if claimed is None:
                break
            job_id, attempt = claimed
            proc = self._ctx.Process(
                target=run_worker,
                args=(job_id, attempt, self.settings.model_dump(mode="json")),
                name=f"presence-job-{job_id[:8]}",
                daemon=False,
            )
            proc.start()
            self._running[job_id] = _Running(job_id, attempt, proc)
        if time.monotonic() - self._last_cleanup > 60:
            self._last_cleanup = time.monotonic()
            delete_expired(self.engine, self.settings)

    def _reap(self) -> None:
        for job_id, r in list(self._running.items()):
            if r.process.is_alive():
                continue
            r.process.join()
            del self._running[job_id]
            if r.process.exitcode != 0:
                # The worker died without recording an outcome (a crash inside the models,
                # killed by the system): fail it, fenced, so a recorded outcome stands.
                fail(
                    self.engine,
                    job_id,
                    r.attempt,
                    f"the analysis process stopped unexpectedly (exit code {r.process.exitcode})",
                )


# -- job-store operations (all fenced where a worker writes) -----------------------------------


def claim_next(engine: Engine) -> tuple[str, int] | None:
    """Mark the oldest queued job running and return (id, attempt), or None."""
    with Session(engine) as s:
        job = s.exec(
            select(Analysis).where(Analysis.status == "queued").order_by(col(Analysis.created_at))
        ).first()
        if job is None:
            return None
        attempt = job.attempts + 1
        now = utcnow()
        done = s.execute(
            update(Analysis)
            .where(col(Analysis.id) == job.id, col(Analysis.status) == "queued")
            .values(
                status="running",
                attempts=attempt,
                started_at=now,
                heartbeat_at=now,
                progress=0.0,
                error=None,
            )
        )
        s.commit()
        return (job.id, attempt) if done.rowcount == 1 else None  # type: ignore[attr-defined]


def _fenced(engine: Engine, job_id: str, attempt: int, **values: Any) -> bool:
    with Session(engine) as s:
        res = s.execute(
            update(Analysis)
            .where(
                col(Analysis.id) == job_id,
                col(Analysis.attempts) == attempt,
                col(Analysis.status) == "running",
            )
            .values(**values)
        )
        s.commit()
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]


def heartbeat(engine: Engine, job_id: str, attempt: int, progress: float | None = None) -> bool:
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = round(min(max(progress, 0.0), 0.99), 4)
    return _fenced(engine, job_id, attempt, **values)


def finish(engine: Engine, job_id: str, attempt: int) -> bool:
    return _fenced(engine, job_id, attempt, status="done", progress=1.0, finished_at=utcnow())


def fail(engine: Engine, job_id: str, attempt: int, error: str) -> bool:
    return _fenced(
        engine, job_id, attempt, status="failed", error=error[:500], finished_at=utcnow()
    )


def requeue(engine: Engine, job_id: str, attempt: int, reason: str) -> bool:
    ok = _fenced(engine, job_id, attempt, status="queued", progress=0.0, heartbeat_at=None)
    if ok:
        log.info("job %s re-queued: %s", job_id, reason)
    return ok


def requeue_stale(engine: Engine, settings: ApiSettings) -> None:
    """Running jobs whose worker went quiet: back to the queue, or failed after too many tries."""
    import datetime as dt

    cutoff = utcnow() - dt.timedelta(seconds=settings.heartbeat_timeout_s)
    with Session(engine) as s:
        stale = list(
            s.exec(
                select(Analysis).where(
                    Analysis.status == "running", col(Analysis.heartbeat_at) < cutoff
                )
            )
        )
    for job in stale:
        if job.attempts >= settings.max_attempts:
            fail(
                engine,
                job.id,
                job.attempts,
                f"the analysis was interrupted {job.attempts} times (server restarts or "
                f"crashes) and was given up",
            )
            remove_upload(job, settings)
        else:
            requeue(engine, job.id, job.attempts, reason="worker stopped reporting")


def remove_upload(job: Analysis, settings: ApiSettings) -> None:
    if job.upload_path and not settings.keep_uploads:
        shutil.rmtree(Path(job.upload_path).parent, ignore_errors=True)


def delete_expired(engine: Engine, settings: ApiSettings) -> None:
    if settings.retention_days is None:
        return
    import datetime as dt

    cutoff = utcnow() - dt.timedelta(days=settings.retention_days)
    with Session(engine) as s:
        old = list(
            s.exec(
                select(Analysis).where(
                    col(Analysis.status).in_(["done", "failed"]), col(Analysis.finished_at) < cutoff
                )
            )
        )
        for job in old:
            delete_files(job, settings)
            s.delete(job)
        s.commit()


def delete_files(job: Analysis, settings: ApiSettings) -> None:
    if job.upload_path:
        shutil.rmtree(Path(job.upload_path).parent, ignore_errors=True)
    shutil.rmtree(settings.results_dir / job.id, ignore_errors=True)


# -- the worker process -------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process if its parent dies (no-op elsewhere)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def run_worker(job_id: str, attempt: int, settings_data: dict[str, Any]) -> None:
    """Entry point of a worker process: analyse one job and record the outcome."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    settings = ApiSettings.model_validate(settings_data)
    engine = make_engine(settings.db_url)
    stop = threading.Event()
    progress_box = {"value": 0.0}

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            if os.getppid() != parent:
                os._exit(1)
            with contextlib.suppress(Exception):
                if not heartbeat(engine, job_id, attempt, progress_box["value"]):
                    os._exit(0)  # deleted or re-queued meanwhile: nothing more to do here

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    with Session(engine) as s:
        job = s.get(Analysis, job_id)
    if job is None or job.upload_path is None:
        return
    log_path = settings.logs_dir / f"{job_id}.log"
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    try:
        outcome = _analyse(job, settings, progress_box, log_path)
    except Exception as e:  # a bug: the user sees one line, the log keeps the traceback
        with log_path.open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        outcome = f"internal error ({type(e).__name__}); the log is {log_path.name}"
    stop.set()
    if outcome is None:
        if finish(engine, job_id, attempt):
            log_path.unlink(missing_ok=True)
        else:
            shutil.rmtree(settings.results_dir / job_id, ignore_errors=True)
    else:
        fail(engine, job_id, attempt, outcome)
    with Session(engine) as s:
        current = s.get(Analysis, job_id)
    if current is not None and current.status in ("done", "failed"):
        remove_upload(current, settings)
    engine.dispose()


def _analyse(
    job: Analysis, settings: ApiSettings, progress_box: dict[str, float], log_path: Path
) -> str | None:
    """Run the pipeline; None on success, else the one-line reason it failed."""
    from analyzer.errors import AnalyzerError
    from analyzer.models import model_paths
    from analyzer.native_logs import divert_native_stderr
    from analyzer.outputs.reel import with_reel
    from analyzer.outputs.report import FileWriter, write_outputs
    from analyzer.outputs.report_html import report_page
    from analyzer.pipeline import analyze
    from api.options import AnalysisOptions

    assert job.upload_path is not None
    try:
        options = AnalysisOptions.model_validate(json.loads(job.options))
        cfg = options.to_config()
        models = model_paths(settings.models_dir, settings.cache_dir)
        with divert_native_stderr(log_path):
            report = analyze(
                job.upload_path,
                models,
                cfg,
                progress=lambda f: progress_box.__setitem__("value", f),
            )
        media = Path(job.upload_path)
        extras: dict[str, FileWriter] = {}
        if options.reel:
            report, reel = with_reel(media, report, asked=False)
            if reel is not None:
                extras["reel.mp4"] = reel
        html = report_page(report, media)
        write_outputs(report, settings.results_dir / job.id, html=html, extras=extras)
    except AnalyzerError as e:
        return str(e).replace(str(Path(job.upload_path).parent) + os.sep, "")
    return None
