"""Durable analysis jobs: the database is the queue, each analysis runs in its own process.

Life of a job: ``queued`` (row written when the upload is accepted) -> ``running`` (the
dispatcher claims it, bumps ``attempts`` and starts a worker process) -> ``done`` or ``failed``
(the worker writes the outcome). Nothing is kept only in memory:

* a worker process that ends without recording an outcome (killed on its own, crashed in
  native code) and a ``running`` job whose heartbeat is older than ``heartbeat_timeout_s`` (its
  server was killed) go back to ``queued``, up to ``max_attempts`` attempts in all, then
  ``failed`` with a clear error; an ended job's upload is removed, however it ended;
* a worker whose parent server dies exits at once (Linux parent-death signal, plus a check in
  its heartbeat), so a restarted server never races an orphan for the same job;
* every write a worker makes is fenced on ``(id, attempts)``: a worker whose job was re-queued,
  re-claimed or deleted cannot overwrite the newer state, and throws its results away.

Why not a task-queue library: the ones with durable queues need Redis or PostgreSQL as a broker,
and the SQLite-backed ones drop a task that was running when the process died. Here the job row
*is* the queue, which is what makes restarts safe on the default, zero-configuration store.

This module is the dispatcher; ``api.store`` has the job-store operations and ``api.worker``
the worker process.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from api.settings import ApiSettings
from api.store import claim_next, delete_expired, requeue, requeue_stale, retry_or_fail
from api.worker import run_worker

log = logging.getLogger("presence.jobs")
POLL_S = 0.5


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
            code = r.process.exitcode
            if code is not None and code != 0:
                # The worker died without recording an outcome (killed by the system or by
                # hand, a crash inside the models): the attempt is retried or, after
                # max_attempts, failed; fenced, so an outcome it did record stands.
                retry_or_fail(self.engine, self.settings, job_id, r.attempt, exit_reason(code))


def exit_reason(exitcode: int) -> str:
    """How a worker process ended, for people: "the analysis process was killed (SIGKILL)"."""
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        verb = "was killed" if name in ("SIGKILL", "SIGTERM", "SIGINT") else "crashed"
        return f"the analysis process {verb} ({name})"
    return f"the analysis process stopped with exit code {exitcode}"
