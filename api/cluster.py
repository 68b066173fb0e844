"""Cluster mode: analyses as Procrastinate jobs in PostgreSQL, run by ``presence worker``s.

With ``PRESENCE_DATABASE_URL=postgresql://…`` the records of analyses stay in our own tables
(``api.db``, Alembic migrations), and the queue is Procrastinate's: an upload is recorded and
its job deferred in the same transaction (``api.split.defer_in``); any ``presence worker``
that reaches the database (and the object store, ``api.blobs``) takes it. The embedded
default (SQLite, ``api.jobs``) is the same job interface for one machine: the record is the
queue there.

A job (``run_analysis``) starts a new attempt on the record (``store.claim``: fenced by the
attempt number, so an attempt still writing somewhere cannot overwrite a later one, and a job
done or failed is never run again) and runs the analysis in a spawned child process
(``api.worker.run_worker``), so that a native crash in MediaPipe fails the attempt, not the
worker. A child that dies is retried (Procrastinate's retry) until the record has had
``max_attempts``.

A video longer than ``split_above_s`` is planned by that job as segment jobs any worker takes,
and a stitch job deferred by the last segment to finish (``api.split``).

A worker killed outright (SIGKILL, a machine lost) stops sending Procrastinate its heartbeat;
every worker sweeps for such stalled jobs every few seconds and retries them, as Procrastinate
documents (``get_stalled_jobs`` + ``retry_job``), after ``heartbeat_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import subprocess
import sys
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from api import split, store
from api.db import make_engine
from api.settings import ApiSettings, get_settings
from api.split import ANALYZE_TASK, QUEUE, SEGMENT_TASK, STITCH_TASK

if TYPE_CHECKING:
    import procrastinate
    from sqlalchemy.engine import Engine

log = logging.getLogger("presence.cluster")

# Procrastinate's own retries of a job whose attempt died; the record's max_attempts decides.
RETRIES = 10


class AttemptDiedError(Exception):
    """The attempt's process died without recording an outcome; Procrastinate retries."""


def make_app(settings: ApiSettings, *, sync: bool) -> procrastinate.App:
    """A Procrastinate app on the service's PostgreSQL (``sync``: for deferring from the API's
    request threads; else the async connector a worker runs on)."""
    import procrastinate

    connector: Any = (
        procrastinate.SyncPsycopgConnector(conninfo=settings.libpq_url)
        if sync
        else procrastinate.PsycopgConnector(conninfo=settings.libpq_url)
    )
    app = procrastinate.App(connector=connector)
    for name, task in (
        (ANALYZE_TASK, run_analysis),
        (SEGMENT_TASK, run_segment),
        (STITCH_TASK, run_stitch),
    ):
        app.task(
            name=name,
            queue=QUEUE,
            retry=procrastinate.RetryStrategy(
                max_attempts=RETRIES, wait=1, retry_exceptions={AttemptDiedError}
            ),
        )(task)
    return app


def ensure_schema(settings: ApiSettings) -> None:
    """Procrastinate's tables, created on first use (as ``procrastinate schema --apply``)."""
    import psycopg

    with psycopg.connect(settings.libpq_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7262001)")  # two nodes starting at once
        try:
            found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if found is None or found[0] is None:
                app = make_app(settings, sync=True)
                with app.open():
                    app.schema_manager.apply_schema()
        finally:
            conn.execute("SELECT pg_advisory_unlock(7262001)")


@lru_cache(maxsize=1)
def _engine(url: str) -> Engine:
    return make_engine(url)


def _in_child(analysis_id: str, attempt: int, stage: str, index: int | None = None) -> str | None:
    """One stage of an attempt in a spawned child; None if it exited normally, else why not."""
    from api.jobs import exit_reason
    from api.worker import run_worker

    settings = get_settings()
    try:
        ctx = multiprocessing.get_context("spawn")
        child = ctx.Process(
            target=run_worker,
            args=(analysis_id, attempt, settings.model_dump(mode="json"), stage, index),
            name=f"presence-{stage}-{analysis_id[:8]}",
            daemon=False,
        )
        child.start()
        child.join()
        code = child.exitcode
        return None if code == 0 else exit_reason(code if code is not None else -9)
    except Exception as e:  # the child could not start, the database went away...
        return f"the worker failed ({type(e).__name__})"


def run_analysis(analysis_id: str) -> None:
    """The job: one attempt of an analysis (a long video: its planning, ``api.split``)."""
    settings = get_settings()
    engine = _engine(settings.db_url)
    attempt = store.claim(engine, settings, analysis_id)
    if attempt is None:
        log.info("analysis %s: nothing to do (deleted, done or failed)", analysis_id)
        return
    why = _in_child(analysis_id, attempt, "whole")
    if why is not None:
        store.retry_or_fail(engine, settings, analysis_id, attempt, why)
        current = store.get(engine, analysis_id)
        if current is not None and current.status == "queued":
            raise AttemptDiedError(why)


def _part_died(analysis_id: str, attempt: int, tries: int, what: str, why: str) -> None:
    """A segment's or the stitch's process died: tried again (Procrastinate's retry) until it
    has had ``max_attempts`` tries; then the analysis fails."""
    settings = get_settings()
    if tries < settings.max_attempts:
        raise AttemptDiedError(why)
    split.give_up(_engine(settings.db_url), settings, analysis_id, attempt, what, tries, why)


def run_segment(analysis_id: str, attempt: int, index: int) -> None:
    """The job of one segment of a long video (``api.split``)."""
    settings = get_settings()
    tries = split.claim_segment(_engine(settings.db_url), settings, analysis_id, attempt, index)
    if tries is None:
        log.info("analysis %s segment %d: nothing to do", analysis_id, index)
        return
    why = _in_child(analysis_id, attempt, "segment", index)
    if why is not None:
        _part_died(analysis_id, attempt, tries, f"part {index + 1} of the analysis", why)


def run_stitch(analysis_id: str, attempt: int) -> None:
    """The job that makes the report of a long video from its observed segments."""
    settings = get_settings()
    tries = split.claim_stitch(_engine(settings.db_url), settings, analysis_id, attempt)
    if tries is None:
        log.info("analysis %s stitch: nothing to do", analysis_id)
        return
    why = _in_child(analysis_id, attempt, "stitch")
    if why is not None:
        _part_died(analysis_id, attempt, tries, "putting the analysis together", why)


async def _sweep(app: procrastinate.App, settings: ApiSettings, stop: asyncio.Event) -> None:
    """Retry the jobs of workers that stopped sending their heartbeat; delete analyses past
    ``retention_days`` (once a minute)."""
    every_s = max(1.0, settings.heartbeat_timeout_s / 3)
    last_cleanup = 0.0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        if loop.time() - last_cleanup > 60:
            last_cleanup = loop.time()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(store.delete_expired, _engine(settings.db_url), settings)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=settings.heartbeat_timeout_s
            )
            for job in stalled:
                log.warning("job %s of a stalled worker: retried", job.id)
                await app.job_manager.retry_job(job)
        except Exception:  # the database briefly away: try again next time
            log.exception("stalled-job sweep failed")


async def _work(settings: ApiSettings, concurrency: int) -> None:
    app = make_app(settings, sync=False)
    stop = asyncio.Event()
    async with app.open_async():
        sweep = asyncio.create_task(_sweep(app, settings, stop))
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                update_heartbeat_interval=max(0.5, settings.heartbeat_timeout_s / 5),
                stalled_worker_timeout=settings.heartbeat_timeout_s,
                install_signal_handlers=True,
            )
        finally:
            stop.set()
            await sweep


@contextlib.contextmanager
def local_workers(settings: ApiSettings) -> Iterator[None]:
    """``presence serve`` of a cluster with ``PRESENCE_WORKERS`` above 0: a ``presence
    worker`` beside it, drained (SIGTERM: running analyses finish first) when it stops."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer.cli", "worker", "--concurrency", str(settings.workers)]
    )
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_worker_node(settings: ApiSettings, concurrency: int) -> None:
    """``presence worker``: take analyses from the queue until SIGTERM or SIGINT (graceful:
    running analyses finish first; a second signal stops at once)."""
    from api.db import migrate
    from api.privacy import prepare_data_dir

    prepare_data_dir(settings)  # this machine's working copies: private
    migrate(settings.db_url)
    ensure_schema(settings)
    asyncio.run(_work(settings, concurrency))
