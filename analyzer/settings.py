"""The only place the analyzer reads the environment (``PRESENCE_*`` variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyzerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PRESENCE_", extra="ignore", env_parse_none_str="none"
    )

    # A folder holding the model bundles, used as given (no download, no digest check).
    models_dir: Path | None = None
    # Where downloaded models are cached when models_dir is not set (default: per-user cache).
    cache_dir: Path | None = None
    # Processes one video is analyzed in, in segments (default: every core).
    jobs: int | None = Field(default=None, ge=1, le=64)
