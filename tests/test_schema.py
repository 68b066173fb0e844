"""The committed JSON Schema of report.json is the one the code produces."""

from __future__ import annotations

import json

from analyzer.outputs.report_schema import SCHEMA_VERSION, Report
from tests.conftest import PROJECT_ROOT

SCHEMA_FILE = PROJECT_ROOT / "docs" / "report.schema.json"


def test_committed_schema_matches_the_code() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == Report.model_json_schema(), (
        "report schema changed: regenerate docs/report.schema.json with "
        "`python -m analyzer.outputs.report_schema > docs/report.schema.json`, bump SCHEMA_VERSION "
        "and describe the change in docs/report.md"
    )


def test_schema_version_is_documented() -> None:
    assert (
        f'schema_version` is `"{SCHEMA_VERSION}"'
        in (PROJECT_ROOT / "docs" / "report.md").read_text()
    )
