"""Shared fixtures: where the real media and models are, and cached real-model analyses.

The media and models live beside the project in ``../shared`` (read-only); tests never copy them
into the repository. ``PRESENCE_MODELS_DIR`` overrides the models folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from analyzer.config import AnalyzerConfig
from analyzer.errors import ModelError
from analyzer.models import ModelPaths
from analyzer.models import model_paths as resolve_model_paths
from analyzer.native_logs import divert_native_stderr
from analyzer.pipeline import analyze
from analyzer.types import AnalysisReport

if TYPE_CHECKING:
    from tests.corpus import Case

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
MEDIA = SHARED / "media"


def models_dir() -> Path:
    return Path(os.environ.get("PRESENCE_MODELS_DIR", SHARED / "models")).resolve()


def media(rel: str) -> Path:
    p = MEDIA / rel
    if not p.is_file():
        pytest.fail(
            f"test media missing: {p} (the tests expect ../shared/media beside the project)"
        )
    return p


@pytest.fixture(scope="session")
def model_paths() -> ModelPaths:
    try:
        return resolve_model_paths(models_dir())
    except ModelError as e:
        pytest.fail(f"{e} (set PRESENCE_MODELS_DIR to ../shared/models)")


@pytest.fixture(scope="session")
def malformed_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """tests/corpus.py built once per session (it takes half a minute)."""
    from tests.corpus import build_corpus  # it imports this module

    return build_corpus(tmp_path_factory.mktemp("corpus") / "in")


Analyzer = Callable[..., AnalysisReport]


@pytest.fixture(scope="session")
def analyzed(model_paths: ModelPaths) -> Analyzer:
    """Analyze a file from ../shared/media once per session and per settings."""
    cache: dict[tuple[str, str], AnalysisReport] = {}

    def run(rel: str | Path, cfg: AnalyzerConfig | None = None) -> AnalysisReport:
        cfg = cfg or AnalyzerConfig()
        path = Path(rel) if Path(rel).is_absolute() else media(str(rel))
        key = (str(path.resolve()), repr(cfg))
        if key not in cache:
            with divert_native_stderr():
                cache[key] = analyze(path, model_paths, cfg)
        return cache[key]

    return run
