"""Service settings, from ``PRESENCE_*`` environment variables (pydantic-settings).

Read through ``get_settings`` (a FastAPI dependency and a plain function for the CLI), never at
import time. Defaults work with no configuration at all: data in the per-user data folder, an
SQLite database inside it, one worker process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field

from analyzer.settings import AnalyzerSettings


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("presence", appauthor=False))


class ApiSettings(AnalyzerSettings):
    # Where the database, uploads and results live.
    data_dir: Path = Field(default_factory=_default_data_dir)
    # SQLAlchemy database address; default: SQLite in the data folder. PostgreSQL works too
    # (postgresql+psycopg://user:pass@host/db) with the driver installed.
    database_url: str | None = None
    # Analyses running at once, each in its own process; the rest wait in the queue.
    workers: int = Field(default=1, ge=1, le=32)
    # Uploads larger than this are refused with 413 before the body is read.
    max_upload_mb: float = Field(default=2048.0, gt=0)
    # Keep the uploaded video after its analysis ends (default: delete it).
    keep_uploads: bool = False
    # Delete finished analyses (report and all) after this many days; default: keep until deleted.
    retention_days: float | None = Field(default=None, gt=0)
    # A running job whose worker has not reported for this long is re-queued.
    heartbeat_timeout_s: float = Field(default=15.0, gt=1)
    # Browser practice sessions at once (each holds its own models, about 300 MB).
    live_sessions: int = Field(default=4, ge=0, le=32)
    # A job interrupted this many times (server killed, worker crashed) is failed, not retried.
    max_attempts: int = Field(default=3, ge=1)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'presence.db'}"

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


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    return ApiSettings()
