"""Analyzer errors reach a client with their own status (``http_status``), in one line and
without server paths: one exception handler, no message parsing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from analyzer.errors import (
    AnalyzerError,
    InputError,
    ModelError,
    NoPersonError,
    OutputError,
    TooLargeError,
    TooSmallError,
)
from api.main import create_app
from api.settings import ApiSettings


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError, 415),
        (TooLargeError, 413),
        (TooSmallError, 422),
        (NoPersonError, 422),
        (ModelError, 503),
        (OutputError, 500),
        (AnalyzerError, 500),
    ],
)
def test_analyzer_errors_answer_with_their_status(
    tmp_path: Path, error: type[AnalyzerError], status: int
) -> None:
    app = create_app(ApiSettings(data_dir=tmp_path / "data"), run_jobs=False)

    @app.get("/boom")
    def boom() -> None:
        raise error(f"{tmp_path}/secret/clip name.mp4: something\nwent wrong")

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom")

    answer = asyncio.run(get())
    assert answer.status_code == status
    detail = answer.json()["detail"]
    assert detail == "clip name.mp4: something went wrong"
    assert str(tmp_path) not in detail
