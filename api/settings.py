"""Service settings, from ``PRESENCE_*`` environment variables (pydantic-settings).

Read through ``get_settings`` (a FastAPI dependency and a plain function for the CLI), never at
import time. Defaults work with no configuration at all: data in the per-user data folder, an
SQLite database inside it, one worker process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator

from analyzer.settings import AnalyzerSettings


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("presence", appauthor=False))


class ApiSettings(AnalyzerSettings):
    # Where the database, uploads and results live.
    data_dir: Path = Field(default_factory=_default_data_dir)
    # SQLAlchemy database address; default: SQLite in the data folder. A PostgreSQL address
    # (postgresql://user:pass@host/db) is cluster mode: jobs go through Procrastinate and
    # `presence worker` processes on any machine run them (docs/deploy.md).
    database_url: str | None = None
    # Where uploads and results are kept: the data folder (default), or s3://bucket/prefix
    # (any S3-compatible store; s3_endpoint_url for one that is not AWS).
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    # Analyses running at once, each in its own process; the rest wait in the queue. 0: none
    # here (an API-only node of a cluster).
    workers: int = Field(default=1, ge=0, le=32)
    # Uploads larger than this are refused with 413 before the body is read.
    max_upload_mb: float = Field(default=2048.0, gt=0)
    # Keep the uploaded video after its analysis ends (default: delete it).
    keep_uploads: bool = False
    # Delete finished analyses (report and all) after this many days; default: keep until deleted.
    retention_days: float | None = Field(default=None, gt=0)
    # A running job whose worker has not reported for this long is re-queued.
    heartbeat_timeout_s: float = Field(default=15.0, gt=1)
    # Cluster mode: a video longer than this (seconds) is cut into segments of about
    # split_segment_s that several workers analyze at once, then stitched (none: never).
    split_above_s: float | None = Field(default=300.0, gt=0)
    split_segment_s: float = Field(default=120.0, ge=5, le=3600)
    # Browser practice sessions at once (each holds its own models, about 300 MB).
    live_sessions: int = Field(default=4, ge=0, le=32)
    # Attempts a job gets in all: one interrupted (its worker killed or crashed, the server
    # killed) is retried until then, and then failed. (A server stopped re-queues its jobs.)
    max_attempts: int = Field(default=3, ge=1, le=10)

    # -- connections (uvicorn and the app; see README "Run it as a service") ---------------------
    # A client must send a request's headers within this long of connecting (or of the previous
    # response on a kept-alive connection); a slower one is disconnected.
    header_timeout_s: float = Field(default=15.0, gt=0, le=600)
    # The longest pause between two pieces of a request body; then 408.
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    # A body that averages less than this (KB/s), once it has been arriving for body_timeout_s,
    # is cut off with 408.
    body_min_rate_kb_s: float = Field(default=8.0, ge=0, le=1_000_000)
    # An idle kept-alive connection is closed after this long.
    keep_alive_s: float = Field(default=5.0, gt=0, le=600)
    # Open connections and requests at once; more are answered 503 (HTTP) or refused (practice
    # sockets).
    max_connections: int = Field(default=200, ge=4, le=100_000)
    # Requests that read or draw whole reports at once (report JSON, progress JSON and page);
    # more wait up to heavy_wait_s for a turn, then get 503 with Retry-After.
    heavy_requests: int = Field(default=2, ge=1, le=64)
    heavy_wait_s: float = Field(default=10.0, ge=0, le=600)
    # Practice sockets: closed after this long without a message from the browser (4408) ...
    ws_idle_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # ... or when pings go unanswered (uvicorn pings every ws_ping_interval_s and waits
    # ws_ping_timeout_s for the pong) ...
    ws_ping_interval_s: float = Field(default=20.0, gt=0, le=3600)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    # ... or on a message larger than this (1009), ...
    ws_max_message_kb: int = Field(default=1024, ge=64, le=65536)
    # ... and the key of an open socket is checked this often (revoked: closed with 1008).
    ws_key_check_s: float = Field(default=5.0, gt=0, le=3600)

    @field_validator("data_dir", "models_dir", "cache_dir")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        # Workers change their working folder; a relative folder would then point elsewhere.
        return None if path is None else path.expanduser().absolute()

    @property
    def db_url(self) -> str:
        """The SQLAlchemy address (a bare postgresql:// one gets the psycopg 3 driver)."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'presence.db'}"
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @property
    def cluster(self) -> bool:
        """Jobs go through Procrastinate (the database is PostgreSQL)."""
        return self.db_url.startswith("postgresql")

    @property
    def libpq_url(self) -> str:
        """The database address as PostgreSQL's own clients take it (no driver part)."""
        return "postgresql://" + self.db_url.split("://", 1)[1]

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def ws_max_message_bytes(self) -> int:
        return self.ws_max_message_kb * 1024


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    return ApiSettings()
