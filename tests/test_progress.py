"""A coach's progress across sessions: points, trends, the plain table and the HTML page, from
three real analyses (real models) given increasing dates; and reading report.json files."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from analyzer.errors import InputError
from analyzer.progress import (
    METRICS,
    SessionPoint,
    Trend,
    load_reports,
    load_sessions,
    progress,
    trends,
)
from analyzer.progress_page import progress_html, progress_table
from analyzer.report import report_json, to_model
from analyzer.report_schema import Report
from tests.conftest import Analyzer

CLIPS = (
    "talking/liveportrait_d9.mp4",
    "talking/liveportrait_d10.mp4",
    "talking/WDA_KatieHill_000.mp4",
)
DAY_1 = datetime(2025, 3, 3, 18, 30, tzinfo=timezone.utc)
DATES = (DAY_1, DAY_1 + timedelta(days=7), DAY_1 + timedelta(days=14, hours=1))


@pytest.fixture(scope="module")
def reports(analyzed: Analyzer) -> list[Report]:
    return [to_model(analyzed(rel)) for rel in CLIPS]


@pytest.fixture(scope="module")
def sessions(reports: list[Report]) -> list[tuple[str, datetime, Report]]:
    # Given out of order: progress() sorts by date.
    order = (2, 0, 1)
    return [(reports[i].video.name, DATES[i], reports[i]) for i in order]


def _with_person(report: Report, **changes: Any) -> Report:
    """The report with its one person changed (e.g. eye_contact=..., id=2)."""
    [p] = report.people
    return report.model_copy(update={"people": [p.model_copy(update=changes)]})


def _no_eye_contact(report: Report) -> Report:
    [p] = report.people
    return _with_person(report, eye_contact=p.eye_contact.model_copy(update={"ratio": None}))


def _figure_data(page: str, key: str) -> list[dict[str, Any]]:
    """The traces of one chart, decoded from the Plotly.newPlot call in the page."""
    m = re.search(r'Plotly\.newPlot\(\s*"chart-' + re.escape(key) + r'",\s*', page)
    assert m, f"no chart for {key}"
    data, _ = json.JSONDecoder().raw_decode(page, m.end())
    assert isinstance(data, list)
    return data


# --- points and trends ----------------------------------------------------------------------


def test_points_follow_the_dates_and_carry_the_report_values(
    sessions: list[tuple[str, datetime, Report]], reports: list[Report]
) -> None:
    points = progress(sessions)
    assert [p.recorded_at for p in points] == list(DATES)
    assert [p.session for p in points] == [r.video.name for r in reports]
    for point, report in zip(points, reports, strict=True):
        [person] = report.people
        assert point.person_id == person.id == 1
        assert point.position == person.position
        assert point.eye_contact_ratio == person.eye_contact.ratio
        assert point.eye_contact_coverage == person.eye_contact.coverage
        assert point.attention_ratio == person.attention.ratio
        assert point.expressiveness_score == person.expressiveness.score
        assert point.smile_ratio == person.expressiveness.smile_ratio
        assert point.openness == person.posture.openness
        assert point.arms_crossed_ratio == person.posture.arms_crossed_ratio
        assert point.nods_per_min == person.head.nods_per_min
        assert point.face_visible_ratio == person.face_visible_ratio
    # Talking-head clips: eyes measurable; webcam framing hides the arms, so posture is not 0.
    assert all(p.eye_contact_ratio is not None for p in points)
    assert any(p.posture_coverage == 0 and p.openness is None for p in points)


def test_trends_run_from_the_first_to_the_last_measured_session(
    sessions: list[tuple[str, datetime, Report]],
) -> None:
    points = progress(sessions)
    t = trends(points)
    assert {pid for pid, _ in t} == {1}
    assert {key for _, key in t} == {m.key for m in METRICS}
    ec = t[(1, "eye_contact_ratio")]
    first, last = points[0].eye_contact_ratio, points[-1].eye_contact_ratio
    assert first is not None and last is not None
    assert (ec.first, ec.last, ec.measured_sessions) == (first, last, 3)
    assert ec.change == pytest.approx(last - first, abs=1e-9)


def test_a_session_where_a_measure_was_not_measurable_is_skipped_not_zero(
    reports: list[Report],
) -> None:
    middle = _no_eye_contact(reports[1])
    points = progress(
        [(r.video.name, d, r) for r, d in zip((reports[0], middle, reports[2]), DATES, strict=True)]
    )
    t = trends(points)[(1, "eye_contact_ratio")]
    assert t.measured_sessions == 2
    assert (t.first, t.last) == (points[0].eye_contact_ratio, points[2].eye_contact_ratio)

    # Measured only in the last session: a value, but no change from one point.
    only_last = [_no_eye_contact(reports[0]), middle, reports[2]]
    dated = [(r.video.name, d, r) for r, d in zip(only_last, DATES, strict=True)]
    t = trends(progress(dated))[(1, "eye_contact_ratio")]
    assert t.change is None and t.measured_sessions == 1
    assert t.first == t.last == reports[2].people[0].eye_contact.ratio

    # Never measured: nothing, not 0.
    never = [_no_eye_contact(r) for r in reports]
    dated = [(r.video.name, d, r) for r, d in zip(never, DATES, strict=True)]
    t = trends(progress(dated))[(1, "eye_contact_ratio")]
    assert t == Trend(first=None, last=None, change=None, measured_sessions=0)


def test_naive_dates_are_read_as_local_time_and_sort_with_aware_ones(
    reports: list[Report],
) -> None:
    naive = datetime(2025, 1, 1, 9, 0)
    points = progress([("b", DATES[0], reports[0]), ("a", naive, reports[1])])
    assert [p.session for p in points] == ["a", "b"]
    assert points[0].recorded_at.tzinfo is not None
    assert points[0].recorded_at.replace(tzinfo=None) == naive


# --- the plain table ------------------------------------------------------------------------


def test_table_has_a_row_per_session_and_person_and_dashes_for_not_measured(
    sessions: list[tuple[str, datetime, Report]],
) -> None:
    points = progress(sessions)
    lines = progress_table(points).splitlines()
    assert lines[0].split()[:3] == ["date", "session", "person"]
    assert "eye contact" in lines[0] and "nods/min" in lines[0]
    assert len(lines) == 1 + len(points)
    for line, p in zip(lines[1:], points, strict=True):
        assert line.startswith(p.recorded_at.strftime("%Y-%m-%d %H:%M"))
        assert p.session in line
        assert f"{p.eye_contact_ratio:.0%}" in line
        if p.openness is None:
            assert " - " in line  # not measured, not 0
    # Columns line up: every row as wide as its cells need, numbers right-aligned.
    assert len({len(line) for line in lines}) <= 2


# --- the HTML page --------------------------------------------------------------------------


def test_html_page_charts_every_measure_over_the_three_sessions(
    sessions: list[tuple[str, datetime, Report]],
) -> None:
    points = progress(sessions)
    page = progress_html("Katie & co: <progress>", points)
    js = get_plotlyjs()
    assert page.count(js) == 1  # plotly.js inlined once for the whole page
    rest = page.replace(js, "")
    assert "http://" not in rest and "https://" not in rest  # nothing fetched from the network
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", rest)
    assert "<title>Katie &amp; co: &lt;progress&gt;</title>" in page
    assert "@media print" in page

    xs = [d.strftime("%Y-%m-%d %H:%M:%S") for d in DATES]
    for m in METRICS:
        [trace] = _figure_data(page, m.key)
        assert trace["x"] == xs
        assert trace["y"] == [m.value(p) for p in points]
        assert trace["connectgaps"] is False
        assert f'id="{m.key}"' in page
        assert m.explanation.split(":")[0].split(",")[0] in page.replace("&#x27;", "'")
    # Coverage is on show: in each hover and in the table of sessions.
    [ec] = _figure_data(page, "eye_contact_ratio")
    assert [c[1] for c in ec["customdata"]] == [
        f"{p.eye_contact_coverage:.0%} of the session" for p in points
    ]
    assert "<h2>Sessions</h2>" in page
    assert page.count("<tr>") == 1 + len(points)
    assert "not measured" in rest  # posture, out of the webcam picture
    t = trends(points)[(1, "eye_contact_ratio")]
    assert t.change is not None
    assert "over 3 measured sessions" in page


def test_html_leaves_gaps_where_a_measure_or_a_person_is_missing(reports: list[Report]) -> None:
    second_person = _with_person(reports[0], id=2, position="right")
    two = reports[0].model_copy(update={"people": [*reports[0].people, *second_person.people]})
    points = progress(
        [
            ("one", DATES[0], two),
            ("two", DATES[1], _no_eye_contact(reports[1])),
            ("three", DATES[2], reports[2]),
        ]
    )
    page = progress_html("Gaps", points)
    p1, p2 = _figure_data(page, "eye_contact_ratio")
    assert p1["name"] == "Person 1" and p2["name"] == "Person 2"
    assert p1["y"][1] is None and p1["y"][0] is not None and p1["y"][2] is not None
    assert p2["y"][1:] == [None, None]  # person 2 only came to the first session
    assert len(p1["x"]) == len(p2["x"]) == 3
    assert "Person 2: " in page


def test_html_for_a_single_session(reports: list[Report]) -> None:
    points = progress([(reports[0].video.name, DATES[0], reports[0])])
    page = progress_html("First session", points)
    assert "One session so far" in page
    assert "measured in one session" in page
    [trace] = _figure_data(page, "eye_contact_ratio")
    assert trace["x"] == [DATES[0].strftime("%Y-%m-%d %H:%M:%S")]


def test_html_page_opens_offline_in_a_browser(
    sessions: list[tuple[str, datetime, Report]], tmp_path: Path
) -> None:
    """Headless Chromium draws every chart from the file alone, asking the network for nothing."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail(f"{chromium} not found: install Debian's chromium (apt-get install chromium)")
    page_file = tmp_path / "progress.html"
    page_file.write_text(progress_html("Progress", progress(sessions)), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot .scatterlayer').length === {len(METRICS)}"
        )
        markers = page.locator("#chart-eye_contact_ratio .point").count()
        pdf = page.pdf()
        browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []
    assert markers == 3
    assert pdf.startswith(b"%PDF")


# --- reading report.json files --------------------------------------------------------------


def test_load_reports_reads_files_and_output_folders(reports: list[Report], tmp_path: Path) -> None:
    folder = tmp_path / "clip.presence"
    folder.mkdir()
    (folder / "report.json").write_text(
        json.dumps(reports[0].model_dump(mode="json")), encoding="utf-8"
    )
    file = tmp_path / "other.json"
    file.write_text(json.dumps(reports[1].model_dump(mode="json")), encoding="utf-8")
    assert load_reports([folder, file]) == [reports[0], reports[1]]

    stamp = DATES[1].timestamp()
    os.utime(file, (stamp, stamp))
    [(name, when, report)] = load_sessions([file])
    assert (name, when, report) == (reports[1].video.name, DATES[1], reports[1])


def test_load_reports_from_a_real_report_json(analyzed: Analyzer, tmp_path: Path) -> None:
    file = tmp_path / "report.json"
    file.write_text(report_json(analyzed(CLIPS[2])), encoding="utf-8")
    [report] = load_reports([file])
    assert report.video.name == "WDA_KatieHill_000.mp4"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema_version": "1.1", "video": ', "not valid JSON"),
        ("\xff\xfe not text", "not valid JSON"),
        ("[1, 2]", "not a Presence report"),
        ('{"schema_version": "0.9"}', "schema_version '0.9' is not supported"),
        ('{"schema_version": "1.1", "people": []}', "not a Presence report (generator: "),
    ],
)
def test_load_reports_names_the_bad_file_in_one_line(
    reports: list[Report], tmp_path: Path, content: str, message: str
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(reports[0].model_dump(mode="json")), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_bytes(content.encode("latin-1"))
    with pytest.raises(InputError) as err:
        load_reports([good, bad])
    text = str(err.value)
    assert text.startswith(f"{bad}: ") and message in text
    assert "\n" not in text


def test_load_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\.json: no such file$"):
        load_reports([tmp_path / "nothing.json"])
    with pytest.raises(InputError, match=r"report\.json: no such file$"):
        load_reports([tmp_path])  # a folder without a report


def test_session_point_is_frozen(sessions: list[tuple[str, datetime, Report]]) -> None:
    point: SessionPoint = progress(sessions)[0]
    with pytest.raises(AttributeError):
        point.person_id = 2  # type: ignore[misc]
