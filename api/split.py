"""Long videos across workers (cluster mode): one attempt of an analysis as segment jobs and a
stitch job.

A video longer than ``split_above_s`` is not analyzed by the worker that takes its job. That
worker plans it instead (``analyzer.pipeline.plan_split``: the layout read once, the video cut
into segments of about ``split_segment_s``, a cut moved to a keyframe within 2 s), keeps the
plan in the work store, and in one transaction records the segments and defers a job for each.
Any worker takes a segment job and observes its segment (``analyzer.segments.observe_segment``:
the models' half of the work) into the work store. The segment job that finishes last decides
the fan-in: marking its segment done and deferring the stitch job happen in one transaction,
after a row lock on the attempt's split record, so exactly one stitch is deferred however the
segments interleave. The stitch job runs every frame through the one tracker in order
(``analyzer.pipeline.analyze_observed``: as a one-process run would) and writes the outputs as
a whole analysis does.

The analysis keeps its one attempt number through planning, segments and stitch, so every
write stays fenced as in ``api.store``. A segment or stitch job whose process dies is retried
by Procrastinate (its stalled-job sweep when the worker itself is lost), up to
``max_attempts`` tries of that segment; then the analysis fails.

The work store is the object store (``PRESENCE_STORAGE_URL``) or, without one, the data folder
(one machine, or a folder every worker shares). It holds the plan and the segments' results as
pickles under ``work/<id>/<attempt>/``, signed (``_signing_key``): a pickle runs what it says
when read, so a worker reads only what a node holding the database address wrote.
``work/<id>`` is removed when the analysis ends or is deleted, ``work/<id>/<attempt>`` when that
attempt is superseded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from api.blobs import ObjectStore, object_store
from api.db import Analysis, AnalysisSegment, AnalysisSplit, utcnow
from api.settings import ApiSettings

if TYPE_CHECKING:  # the analysis modules are heavier than an API node needs to load
    from analyzer.pipeline import SplitPlan
    from analyzer.segments import SegmentResult

QUEUE = "analyses"
ANALYZE_TASK = "presence.analyze"
SEGMENT_TASK = "presence.segment"
STITCH_TASK = "presence.stitch"
# Share of an analysis's progress its planning (reading the layout) stands for; the segments
# stand for the rest but the stitch's last share.
PLANNED = 0.05
SEGMENTS = 0.9

_DEFER = text(
    # Procrastinate's own deferral (its queries.sql, ``defer_jobs``), in our transaction
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, "
    "CAST(:args AS jsonb), NULL)]::procrastinate_job_to_defer_v1[]))"
)


def defer_in(s: Session, task: str, **args: Any) -> None:
    """Queue a Procrastinate job inside the session's transaction: it exists once the
    transaction commits, and not at all if it rolls back."""
    s.execute(_DEFER, {"queue": QUEUE, "task": task, "args": json.dumps(args)})


def should_split(settings: ApiSettings, duration_s: float | None) -> bool:
    return (
        settings.cluster
        and settings.split_above_s is not None
        and duration_s is not None
        and duration_s > settings.split_above_s
    )


def work_store(settings: ApiSettings) -> ObjectStore:
    """Where the plan and the segments' results are kept between jobs (keys ``work/…``):
    the object store, or the data folder."""
    found = object_store(settings.storage_url, settings.s3_endpoint_url)
    if found is None:
        found = object_store(settings.data_dir.as_uri())
    assert found is not None
    return found


def _key(analysis_id: str, attempt: int, name: str) -> str:
    return f"work/{analysis_id}/{attempt}/{name}"


def _signing_key(settings: ApiSettings) -> bytes:
    """The work files are signed with a key only the service's nodes hold (derived from the
    database address, password included): someone who can write to the bucket but not reach
    the database cannot make a worker unpickle what they wrote."""
    return hashlib.sha256(b"presence-work\0" + settings.db_url.encode()).digest()


def _put(settings: ApiSettings, key: str, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    mac = hmac.new(_signing_key(settings), key.encode() + b"\0" + data, "sha256").digest()
    work_store(settings).write_bytes(key, mac + data)


def _get(settings: ApiSettings, key: str) -> Any:
    blob = work_store(settings).read_bytes(key)
    mac, data = blob[:32], blob[32:]
    want = hmac.new(_signing_key(settings), key.encode() + b"\0" + data, "sha256").digest()
    if not hmac.compare_digest(mac, want):
        raise WorkFileError(f"{key}: not signed by this service; not read")
    return pickle.loads(data)  # signed by this service (see _signing_key)


class WorkFileError(Exception):
    """A work file whose signature does not match: it was not written by this service."""


def remove_work(settings: ApiSettings, analysis_id: str, attempt: int | None = None) -> None:
    """What the segments of an analysis (or of one attempt of it) left in the work store.
    Nothing to do outside cluster mode (only a cluster splits; and the embedded default must
    not need the cluster extra's fsspec)."""
    if not settings.cluster:
        return
    prefix = f"work/{analysis_id}" + ("" if attempt is None else f"/{attempt}")
    work_store(settings).remove(prefix)


def _running(s: Session, analysis_id: str, attempt: int) -> bool:
    job = s.get(Analysis, analysis_id, with_for_update=True)
    return job is not None and job.attempts == attempt and job.status == "running"


def record_split(
    engine: Engine, settings: ApiSettings, analysis_id: str, attempt: int, split: SplitPlan
) -> bool:
    """Keep the plan, then record the segments and defer their jobs in one transaction
    (fenced: False when the attempt was superseded or the analysis deleted meanwhile)."""
    _put(settings, _key(analysis_id, attempt, "plan.pkl"), split)
    with Session(engine) as s:
        if not _running(s, analysis_id, attempt):
            remove_work(settings, analysis_id, attempt)
            return False
        n = len(split.segments)
        s.add(
            AnalysisSplit(
                analysis_id=analysis_id, attempt=attempt, segments=n, remaining=n, stitch_tries=0
            )
        )
        for seg in split.segments:
            s.add(
                AnalysisSegment(
                    analysis_id=analysis_id,
                    attempt=attempt,
                    idx=seg.index,
                    start_s=seg.start_s,
                    end_s=seg.end_s,
                )
            )
        s.flush()
        for seg in split.segments:
            defer_in(s, SEGMENT_TASK, analysis_id=analysis_id, attempt=attempt, index=seg.index)
        s.execute(
            update(Analysis)
            .where(col(Analysis.id) == analysis_id)
            .values(progress=PLANNED, heartbeat_at=utcnow())
        )
        s.commit()
    return True


def load_plan(settings: ApiSettings, analysis_id: str, attempt: int) -> SplitPlan:
    plan: SplitPlan = _get(settings, _key(analysis_id, attempt, "plan.pkl"))
    return plan


def _out_of_tries(
    s: Session,
    engine: Engine,
    settings: ApiSettings,
    analysis_id: str,
    attempt: int,
    tries: int,
    what: str,
) -> bool:
    """A part taken ``max_attempts`` times already (its workers died each time) fails the
    analysis now (True); else there is a try left (False)."""
    if tries < settings.max_attempts:
        return False
    s.rollback()
    give_up(engine, settings, analysis_id, attempt, what, tries, "its worker stopped reporting")
    return True


def claim_segment(
    engine: Engine, settings: ApiSettings, analysis_id: str, attempt: int, index: int
) -> int | None:
    """A worker takes a segment: its try number, or None when there is nothing to do (done
    already, the attempt superseded, the analysis ended or deleted; or the segment has had
    ``max_attempts`` tries, its workers died each time: the analysis fails now)."""
    with Session(engine) as s:
        if not _running(s, analysis_id, attempt):
            return None
        seg = s.get(AnalysisSegment, (analysis_id, attempt, index), with_for_update=True)
        if seg is None or seg.done:
            return None
        if _out_of_tries(
            s,
            engine,
            settings,
            analysis_id,
            attempt,
            seg.tries,
            f"part {index + 1} of the analysis",
        ):
            return None
        seg.tries += 1
        seg.progress = 0.0
        tries = seg.tries
        s.add(seg)
        s.commit()
        return tries


def claim_stitch(
    engine: Engine, settings: ApiSettings, analysis_id: str, attempt: int
) -> int | None:
    """The stitch's try number, or None when there is nothing to do (as ``claim_segment``)."""
    with Session(engine) as s:
        if not _running(s, analysis_id, attempt):
            return None
        split = s.get(AnalysisSplit, (analysis_id, attempt), with_for_update=True)
        if split is None or split.remaining > 0:
            return None
        if _out_of_tries(
            s,
            engine,
            settings,
            analysis_id,
            attempt,
            split.stitch_tries,
            "putting the analysis together",
        ):
            return None
        split.stitch_tries += 1
        tries = split.stitch_tries
        s.add(split)
        s.commit()
        return tries


def give_up(
    engine: Engine,
    settings: ApiSettings,
    analysis_id: str,
    attempt: int,
    what: str,
    tries: int,
    why: str,
) -> None:
    """A part of a split analysis was interrupted ``tries`` times: the analysis fails, and
    its upload and work files go."""
    from api import store

    if store.fail(
        engine,
        analysis_id,
        attempt,
        f"{what} was interrupted {tries} times and was given up (last time: {why})",
    ):
        remove_work(settings, analysis_id)
        current = store.get(engine, analysis_id)
        if current is not None:
            store.remove_upload(current, settings)


def segment_beat(engine: Engine, analysis_id: str, attempt: int, index: int, done: float) -> bool:
    """A segment's process reports how far it is (0-1); the analysis's progress is the mean
    over its segments. False: the attempt is no longer running (stop). The analysis's row is
    locked first, as every other write of a split does (no deadlock)."""
    with Session(engine) as s:
        if not _running(s, analysis_id, attempt):
            return False
        s.execute(
            update(AnalysisSegment)
            .where(
                col(AnalysisSegment.analysis_id) == analysis_id,
                col(AnalysisSegment.attempt) == attempt,
                col(AnalysisSegment.idx) == index,
                col(AnalysisSegment.done).is_(False),
            )
            .values(progress=min(max(done, 0.0), 1.0))
        )
        res = s.execute(
            text(
                "UPDATE analyses SET heartbeat_at = :now, progress = :planned + :share * "
                "(SELECT avg(progress) FROM analysis_segments "
                " WHERE analysis_id = :id AND attempt = :attempt) "
                "WHERE id = :id AND attempts = :attempt AND status = 'running'"
            ),
            {
                "now": utcnow(),
                "planned": PLANNED,
                "share": SEGMENTS,
                "id": analysis_id,
                "attempt": attempt,
            },
        )
        s.commit()
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]


def save_segment(
    settings: ApiSettings, analysis_id: str, attempt: int, result: SegmentResult
) -> None:
    _put(settings, _key(analysis_id, attempt, f"segment-{result.segment.index:05d}.pkl"), result)


def segment_done(engine: Engine, analysis_id: str, attempt: int, index: int) -> bool | None:
    """Mark a segment observed (its result saved). In the same transaction, the last one
    defers the stitch: True then; False while others remain; None when the attempt is no
    longer running (nothing was changed)."""
    with Session(engine) as s:
        if not _running(s, analysis_id, attempt):
            return None
        split = s.get(AnalysisSplit, (analysis_id, attempt), with_for_update=True)
        seg = s.get(AnalysisSegment, (analysis_id, attempt, index), with_for_update=True)
        if split is None or seg is None:
            return None
        if seg.done:  # a duplicate run of a segment that was retried: counted once
            return False
        seg.done = True
        seg.progress = 1.0
        split.remaining -= 1
        last = split.remaining == 0
        s.add(seg)
        s.add(split)
        if last:
            defer_in(s, STITCH_TASK, analysis_id=analysis_id, attempt=attempt)
        s.commit()
        return last


def observed(
    settings: ApiSettings, analysis_id: str, attempt: int, n: int
) -> Iterator[SegmentResult]:
    """The segments' results, in order, one in memory at a time."""
    for index in range(n):
        result: SegmentResult = _get(
            settings, _key(analysis_id, attempt, f"segment-{index:05d}.pkl")
        )
        yield result
