"""The bookkeeping of a long video split across workers (api.split), on the job store's own
tables (SQLite here; the end-to-end runs on PostgreSQL are in tests/test_cluster.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from analyzer.segments import Segment, SegmentResult
from api import split, store
from api.db import Analysis, AnalysisSegment, AnalysisSplit, ApiKey, make_engine, migrate
from api.settings import ApiSettings

ID = "a" * 32


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    return ApiSettings(data_dir=tmp_path, max_attempts=2)


@pytest.fixture
def engine(settings: ApiSettings) -> Engine:
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    with Session(engine) as s:
        s.add(ApiKey(id=1, name="coach", prefix="p", key_hash="h"))
        s.commit()
        s.add(Analysis(id=ID, owner_id=1, input_name="call.mp4", status="running", attempts=1))
        s.commit()
        s.add(AnalysisSplit(analysis_id=ID, attempt=1, segments=2, remaining=2))
        for i in (0, 1):
            s.add(AnalysisSegment(analysis_id=ID, attempt=1, idx=i, start_s=10.0 * i))
        s.commit()
    return engine


def test_a_segment_whose_workers_keep_dying_fails_the_analysis(
    engine: Engine, settings: ApiSettings
) -> None:
    assert split.claim_segment(engine, settings, ID, 1, 0) == 1
    assert split.claim_segment(engine, settings, ID, 1, 0) == 2  # taken again: a worker died
    assert split.claim_segment(engine, settings, ID, 1, 0) is None  # max_attempts: given up
    job = store.get(engine, ID)
    assert job is not None and job.status == "failed"
    assert job.error is not None and "part 1 of the analysis was interrupted 2 times" in job.error
    assert split.claim_segment(engine, settings, ID, 1, 1) is None  # nothing more to do


def test_an_old_attempt_claims_nothing(engine: Engine, settings: ApiSettings) -> None:
    assert split.claim_segment(engine, settings, ID, 0, 0) is None
    assert split.claim_stitch(engine, settings, ID, 1) is None  # segments remain
    assert split.segment_beat(engine, ID, 0, 0, 0.5) is False


def test_progress_is_the_segments_mean_after_planning(
    engine: Engine, settings: ApiSettings
) -> None:
    assert split.segment_beat(engine, ID, 1, 0, 1.0)
    job = store.get(engine, ID)
    assert job is not None
    assert job.progress == pytest.approx(split.PLANNED + split.SEGMENTS * 0.5)


def test_work_files_are_signed_and_removed(tmp_path: Path) -> None:
    # a cluster's settings (nothing connects to this database here)
    settings = ApiSettings(data_dir=tmp_path, database_url="postgresql://presence@db/presence")
    result = SegmentResult(Segment(0, 0.0, None), frames=(), warnings=("w",), decoded_s=12.5)
    split.save_segment(settings, ID, 1, result)
    key = f"work/{ID}/1/segment-00000.pkl"
    path = settings.data_dir / key
    assert path.is_file()
    assert next(split.observed(settings, ID, 1, 1)) == result
    path.write_bytes(b"\0" * 32 + path.read_bytes()[32:])  # written by someone else
    with pytest.raises(split.WorkFileError):
        next(split.observed(settings, ID, 1, 1))
    split.remove_work(settings, ID, 2)  # another attempt's: this one stays
    assert path.is_file()
    split.remove_work(settings, ID)
    assert not (settings.data_dir / "work" / ID).exists()


def test_the_embedded_default_has_no_work_files(settings: ApiSettings) -> None:
    (settings.data_dir / "work" / ID).mkdir(parents=True)
    split.remove_work(settings, ID)  # not a cluster: nothing to do, nothing imported
    assert (settings.data_dir / "work" / ID).is_dir()
