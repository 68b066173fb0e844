"""Schema-driven fuzzing of the live API (schemathesis, every check it has, as ``--checks all``):
the real server on loopback with its workers on, two owners each with a finished analysis, and
requests made with either owner's key.

Besides schemathesis's own checks (no 5xx, status codes, content types, headers and bodies as
documented, valid data accepted and invalid data refused, authentication not ignored, ...),
``owners_see_only_their_own`` checks every answer: an analysis, listing or progress view given
with one key holds only that key's analyses. Path parameters are often replaced by the real
analyses and labels of both owners, so the fuzzer reads, and tries to delete, the other owner's
analysis too (always a 404).

About 40 s with the settings below (max_examples per operation and owner).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from api.db import make_engine, migrate
from api.keys import create_key
from api.labels import LABEL_FORMAT, LABEL_MAX_CHARS, LABEL_PUNCTUATION, check_label
from api.main import create_app
from api.settings import ApiSettings
from tests.apiserver import Server
from tests.conftest import media

OWNERS = ("alice", "bob")
EXAMPLES = 25


def label_strategy() -> st.SearchStrategy[str]:
    """Labels by the rule of api/labels.py (the schema's ``format: presence-label``)."""
    chars = st.characters(categories=["L", "M", "N"], include_characters="".join(LABEL_PUNCTUATION))

    def valid(text: str) -> bool:
        try:
            return check_label(text) == text
        except ValueError:
            return False

    return st.text(chars, min_size=1, max_size=LABEL_MAX_CHARS).filter(valid)


schemathesis.openapi.format(LABEL_FORMAT, label_strategy())

CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # a schema cannot say "a readable video": valid-looking bytes may be refused with
            # 415, a picture too small with 422, and an upload while busy with 503/507
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "404", "409", "413", "415", "503", "507"]
            },
        },
        "operations": [
            {
                "include-name": "POST /v1/analyses",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["202", "401", "413", "415", "422", "507"]
                    }
                },
            }
        ],
    }
)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = Server(DATA, env_extra={"PRESENCE_MAX_UPLOAD_MB": "2", "PRESENCE_WORKERS": "1"})
    s.start()
    yield s
    s.stop()
    shutil.rmtree(DATA.parent, ignore_errors=True)


class Owners:
    """Each owner's key, and which owner each analysis id belongs to."""

    def __init__(self, server: Server) -> None:
        self.key = KEYS
        self.owner_of_id: dict[str, str] = {}
        self.label = {who: f"fuzz {who}" for who in OWNERS}
        self.seeded: dict[str, str] = {}
        for who in OWNERS:
            with (
                httpx.Client(base_url=server.url, headers=self.auth(who), timeout=60) as c,
                media("gaze/zoombi_real_021.jpg").open("rb") as f,
            ):
                r = c.post(
                    "/v1/analyses",
                    files={"file": ("face.jpg", f)},
                    data={"label": self.label[who]},
                )
                assert r.status_code == 202, r.text
                self.seeded[who] = self.owner_id(r.json()["id"], who)
                deadline = time.monotonic() + 120
                while c.get(f"/v1/analyses/{self.seeded[who]}").json()["status"] != "done":
                    assert time.monotonic() < deadline
                    time.sleep(0.3)

    def owner_id(self, analysis_id: str, who: str) -> str:
        self.owner_of_id[analysis_id] = who
        return analysis_id

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key[who]}"}

    def caller(self, headers: Any) -> str | None:
        value = (headers or {}).get("Authorization", "")
        return next((who for who in OWNERS if value == f"Bearer {self.key[who]}"), None)


@pytest.fixture(scope="module")
def owners(server: Server) -> Owners:
    REAL["owners"] = Owners(server)
    return REAL["owners"]


def ids_in(body: Any) -> list[str]:
    """Analysis ids in an answer: an analysis, a listing's items, a progress view's points."""
    if not isinstance(body, dict):
        return []
    found = [body["id"]] if isinstance(body.get("id"), str) else []
    for item in body.get("items", []) + body.get("points", []):
        if isinstance(item, dict):
            found += [v for k, v in item.items() if k in ("id", "analysis_id")]
    return found


# The schema as the server serves it, and the owners' keys, made before the server runs:
# schemathesis makes some cases (and asks for their keys) while the tests are collected, and its
# fixture-based loading does not work with pytest 9.
DATA = Path(tempfile.mkdtemp(prefix="presence-fuzz-")) / "data"
SPEC = create_app(ApiSettings(data_dir=DATA)).openapi()


def _make_keys() -> dict[str, str]:
    DATA.mkdir()
    url = ApiSettings(data_dir=DATA).db_url
    migrate(url)
    engine = make_engine(url)
    try:
        return {who: create_key(engine, who).key for who in OWNERS}
    finally:
        engine.dispose()


KEYS = _make_keys()
REAL: dict[str, Owners] = {}  # the module's owners, once its fixture has made their analyses


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _is_label(value: Any) -> bool:
    try:
        return isinstance(value, str) and check_label(value) == value
    except ValueError:
        return False


def schema_for(who: str) -> Any:
    """The schema, with path parameters often set to the real analyses and labels of both
    owners; a DELETE only ever aims at the other owner's analysis (a 404, and it stays)."""
    schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)
    other = next(w for w in OWNERS if w != who)

    @schema.auth()
    class OwnerKey:
        """The owner's key as the bearer token (schemathesis also tries requests without)."""

        def get(self, case: schemathesis.Case, ctx: Any) -> str:
            return KEYS[who]

        def set(self, case: schemathesis.Case, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: Any) -> Any:
        if not isinstance(path_parameters, dict):  # none, or mutated by negative testing
            return st.just(path_parameters)
        params = dict(path_parameters)
        owners = REAL.get("owners")
        if owners is None:  # cases made while the tests are collected
            return st.just(params)
        # only a valid value is replaced (an invalid one is the point of a negative case)
        if "analysis_id" in params and _is_uuid(params["analysis_id"]):
            real = [owners.seeded[other]]
            if context.operation.method.upper() != "DELETE":
                real.append(owners.seeded[who])
            return st.sampled_from([params["analysis_id"], *real]).map(
                lambda v: {**params, "analysis_id": v}
            )
        if "label" in params and _is_label(params["label"]):
            return st.sampled_from([params["label"], *owners.label.values()]).map(
                lambda v: {**params, "label": v}
            )
        return st.just(params)

    return schema


as_alice = schema_for("alice")
as_bob = schema_for("bob")


def owners_see_only_their_own(owners: Owners) -> Any:
    def check(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
        who = owners.caller(case.headers)
        if who is None or not 200 <= response.status_code < 300:
            return None
        body = response.json() if "json" in response.headers.get("content-type", [""])[0] else None
        if case.method == "POST" and response.status_code == 202 and body:
            owners.owner_id(body["id"], who)
        seen = ids_in(body)
        analysis_id = (case.path_parameters or {}).get("analysis_id")
        if analysis_id is not None:
            seen.append(str(analysis_id).replace("-", ""))
        others = [i for i in seen if owners.owner_of_id.get(i, who) != who]
        assert not others, f"{who} was given another owner's analyses: {others}"
        label = (case.path_parameters or {}).get("label")
        other_labels = [x for w, x in owners.label.items() if w != who]
        assert label not in other_labels, f"{who} was given another owner's progress view"
        return None

    return check


def fuzz(case: schemathesis.Case, server: Server, owners: Owners) -> None:
    check = owners_see_only_their_own(owners)
    case.call_and_validate(base_url=server.url, additional_checks=[check])


@as_alice.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_as_alice(case: schemathesis.Case, server: Server, owners: Owners) -> None:
    fuzz(case, server, owners)


@as_bob.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_as_bob(case: schemathesis.Case, server: Server, owners: Owners) -> None:
    fuzz(case, server, owners)


def test_each_owner_still_has_their_analysis_and_not_the_others(
    server: Server, owners: Owners
) -> None:
    for who in OWNERS:
        with httpx.Client(base_url=server.url, headers=owners.auth(who), timeout=30) as c:
            listing = c.get("/v1/analyses", params={"limit": 100}).json()
            mine = {a["id"] for a in listing["items"]}
            other = next(w for w in OWNERS if w != who)
            assert owners.seeded[who] in mine and owners.seeded[other] not in mine
            assert c.get(f"/v1/analyses/{owners.seeded[other]}").status_code == 404
    assert "Traceback" not in server.log_text
