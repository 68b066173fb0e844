"""The job store: tables (SQLModel), the engine, and migrations (Alembic) run at start-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    prefix: str  # the first characters of the key, to tell keys apart in listings
    key_hash: str = Field(index=True, unique=True)  # SHA-256 of the whole key
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None


class Analysis(SQLModel, table=True):
    __tablename__ = "analyses"

    id: str = Field(primary_key=True)  # UUID, hex
    owner_id: int = Field(foreign_key="api_keys.id", index=True)
    label: str | None = Field(default=None, index=True)
    input_name: str
    status: str = Field(default="queued", index=True)  # queued, running, done, failed
    progress: float = 0.0
    options: str = "{}"  # JSON of the analysis options
    error: str | None = None
    attempts: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    upload_path: str | None = None


class AnalysisSplit(SQLModel, table=True):
    """A long video's attempt analyzed as segments by several workers (cluster mode): how many
    segments are still to be observed (the last one done defers the stitch), and how often the
    stitch has been tried."""

    __tablename__ = "analysis_splits"

    analysis_id: str = Field(foreign_key="analyses.id", primary_key=True, ondelete="CASCADE")
    attempt: int = Field(primary_key=True)
    segments: int
    remaining: int
    stitch_tries: int = 0


class AnalysisSegment(SQLModel, table=True):
    """One segment of a split attempt: its span of the video, how far it is, how often tried."""

    __tablename__ = "analysis_segments"

    analysis_id: str = Field(foreign_key="analyses.id", primary_key=True, ondelete="CASCADE")
    attempt: int = Field(primary_key=True)
    idx: int = Field(primary_key=True)
    start_s: float
    end_s: float | None = None
    progress: float = 0.0
    done: bool = False
    tries: int = 0


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the workers' writes
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def migrate(url: str) -> None:
    """Bring the database schema up to date (creates it on first use)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if not url.startswith("postgresql"):
        command.upgrade(cfg, "head")
        return
    # nodes of a cluster starting together: one migrates, the others wait for it
    from sqlalchemy import text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(7262002)"))
            try:
                command.upgrade(cfg, "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(7262002)"))
    finally:
        engine.dispose()
