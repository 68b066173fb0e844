"""Schema-driven fuzzing of the API (schemathesis against the app's own OpenAPI schema):
whatever a client sends, the service never answers with a 5xx.

Runs in-process (ASGI) against the real app and a real SQLite store; analyses are not started
(``run_jobs=False``), since the fuzzer's uploads are noise that is refused before queuing anyway,
and the end-to-end tests cover the workers.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.keys import create_key
from api.main import create_app
from api.settings import ApiSettings
from tests.conftest import models_dir

DATA = Path(tempfile.mkdtemp(prefix="presence-fuzz-"))
APP = create_app(
    ApiSettings(data_dir=DATA, models_dir=models_dir(), max_upload_mb=2), run_jobs=False
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def key() -> Iterator[str]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            APP.router.lifespan_context(APP)  # the app's start-up: migrations, engine
        ),
    ):
        yield create_key(APP.state.presence.engine, "fuzzer").key
    shutil.rmtree(DATA, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case, key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_without_a_key(case: schemathesis.Case, key: str) -> None:
    assert case.call().status_code < 500
