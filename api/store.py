"""Job-store operations on the ``analyses`` table: claiming, fenced outcome writes, retries,
and removing a job's files.

Every write a worker makes is fenced on ``(id, attempts, status='running')``: a worker whose job
was re-queued, re-claimed or deleted cannot overwrite the newer state. An interrupted attempt (a
worker killed or crashed, a server stopped, a heartbeat gone quiet) is retried until
``max_attempts``, then failed; a job that ends, however it ends, has its upload removed.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.blobs import ObjectStore, object_store
from api.db import Analysis, utcnow
from api.settings import ApiSettings
from api.split import remove_work

log = logging.getLogger("presence.jobs")


def _start_attempt(s: Session, job: Analysis, *, from_status: Sequence[str]) -> int | None:
    """Mark ``job`` running as its next attempt, unless someone else changed it since it was
    read (then None). The one place an attempt begins, for the dispatcher and the cluster."""
    attempt = job.attempts + 1
    now = utcnow()
    res = s.execute(
        update(Analysis)
        .where(
            col(Analysis.id) == job.id,
            col(Analysis.attempts) == job.attempts,
            col(Analysis.status).in_(list(from_status)),
        )
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
    return attempt if res.rowcount == 1 else None  # type: ignore[attr-defined]


def claim_next(engine: Engine) -> tuple[str, int] | None:
    """Mark the oldest queued job running and return (id, attempt), or None."""
    with Session(engine) as s:
        job = s.exec(
            select(Analysis).where(Analysis.status == "queued").order_by(col(Analysis.created_at))
        ).first()
        if job is None:
            return None
        attempt = _start_attempt(s, job, from_status=["queued"])
        return None if attempt is None else (job.id, attempt)


def claim(engine: Engine, settings: ApiSettings, job_id: str) -> int | None:
    """Cluster mode: Procrastinate has handed this job to a worker; start a new attempt (an
    earlier attempt still writing somewhere is fenced out by its number). None: nothing to do
    (the analysis was deleted, or is already done or failed: it completes once; or it has had
    ``max_attempts`` and is failed now, as a job whose workers keep dying must end)."""
    with Session(engine) as s:
        job = s.get(Analysis, job_id)
        if job is None or job.status in ("done", "failed"):
            return None
        if job.attempts >= settings.max_attempts:
            retry_or_fail(engine, settings, job_id, job.attempts, "its worker stopped reporting")
            return None
        return _start_attempt(s, job, from_status=["queued", "running"])


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


def get(engine: Engine, job_id: str) -> Analysis | None:
    with Session(engine) as s:
        return s.get(Analysis, job_id)


def retry_or_fail(
    engine: Engine, settings: ApiSettings, job_id: str, attempt: int, what_happened: str
) -> None:
    """An attempt was interrupted (``what_happened``: "the analysis process was killed
    (SIGKILL)"): queue the job again, or fail it once it has had ``max_attempts``; a failed
    job's upload is removed."""
    if attempt < settings.max_attempts:
        requeue(engine, job_id, attempt, reason=what_happened)
        return
    tries = "once" if attempt == 1 else f"{attempt} times"
    if fail(
        engine,
        job_id,
        attempt,
        f"the analysis was interrupted {tries} and was given up (last time: {what_happened})",
    ):
        remove_partial_results(settings, job_id)
        job = get(engine, job_id)
        if job is not None:
            remove_upload(job, settings)


def requeue_stale(engine: Engine, settings: ApiSettings) -> None:
    """Running jobs whose worker went quiet (its server was killed): retried or failed."""
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
        retry_or_fail(
            engine,
            settings,
            job.id,
            job.attempts,
            "its worker stopped reporting (a server restart or a crash)",
        )


def storage(settings: ApiSettings) -> ObjectStore | None:
    """The object store uploads and results are kept in (None: the data folder)."""
    return object_store(settings.storage_url, settings.s3_endpoint_url)


def local_upload(job: Analysis, settings: ApiSettings) -> Path | None:
    """Where a job's upload is (or, kept in an object store, is fetched to) on this machine.
    ``upload_path`` is the local path, or with an object store the key (``uploads/<id>/…``),
    which is the same path under every machine's data folder."""
    if job.upload_path is None:
        return None
    if storage(settings) is None:
        return Path(job.upload_path)
    return settings.data_dir / job.upload_path


def remove_upload(job: Analysis, settings: ApiSettings) -> None:
    if job.upload_path and not settings.keep_uploads:
        local = local_upload(job, settings)
        if local is not None:
            shutil.rmtree(local.parent, ignore_errors=True)
        store = storage(settings)
        if store is not None:
            store.remove(f"uploads/{job.id}")


def remove_partial_results(settings: ApiSettings, job_id: str) -> None:
    """Results an interrupted attempt was writing (``write_outputs`` writes into a hidden
    ``.<id>.*`` folder and renames it when complete)."""
    for partial in settings.results_dir.glob(f".{job_id}.*"):
        shutil.rmtree(partial, ignore_errors=True)


def delete_files(job: Analysis, settings: ApiSettings) -> None:
    """Everything a job left on disk: its upload, its results (whole or partial), its log."""
    local = local_upload(job, settings)
    if local is not None:
        shutil.rmtree(local.parent, ignore_errors=True)
    shutil.rmtree(settings.results_dir / job.id, ignore_errors=True)
    remove_partial_results(settings, job.id)
    (settings.logs_dir / f"{job.id}.log").unlink(missing_ok=True)
    remove_work(settings, job.id)
    store = storage(settings)
    if store is not None:
        store.remove(f"uploads/{job.id}")
        store.remove(f"results/{job.id}")


def delete_expired(engine: Engine, settings: ApiSettings) -> None:
    if settings.retention_days is None:
        return
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
