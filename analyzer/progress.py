"""A coach's view across sessions: each person's measures per session, their trend, a plain table
for the terminal and one self-contained HTML page of charts.

People are matched across sessions by their ``id`` (1 = leftmost or topmost), so the same seat
should mean the same person. A measure that was not measurable in a session is a gap, never 0.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pydantic

from analyzer.errors import InputError
from analyzer.report_schema import READABLE_VERSIONS, Report

Session = tuple[str, datetime, Report]  # name, when it was recorded, its report.json
LOW_COVERAGE = 0.25  # below this share of the session a value stands on little: drawn hollow
COLOURS = ("#2f6f9e", "#c0623a", "#4c9a5b", "#8a5fb0", "#9a7b2f", "#3a8f8f")


@dataclass(frozen=True)
class SessionPoint:
    """One person in one session. Ratios and scores are 0-1; ``None``: not measurable."""

    session: str
    recorded_at: datetime
    person_id: int
    position: str
    eye_contact_ratio: float | None
    eye_contact_coverage: float
    attention_ratio: float | None
    attention_coverage: float
    expressiveness_score: float | None
    expressiveness_coverage: float
    smile_ratio: float | None
    openness: float | None
    arms_crossed_ratio: float | None
    posture_coverage: float
    nods_per_min: float | None
    head_coverage: float
    face_visible_ratio: float


@dataclass(frozen=True)
class Metric:
    """How one measure is read, shown and explained. ``coverage``: the SessionPoint field with
    the share of the session it was measured in (None: the measure is itself a share of it)."""

    key: str
    label: str
    short: str  # column head of the tables
    kind: str  # "share" (0-1 shown as %), "score" (0-1), "rate" (per minute)
    coverage: str | None
    explanation: str

    def value(self, p: SessionPoint) -> float | None:
        v = getattr(p, self.key)
        return None if v is None else float(v)

    def coverage_of(self, p: SessionPoint) -> float | None:
        return None if self.coverage is None else float(getattr(p, self.coverage))

    def format(self, v: float | None) -> str:
        if v is None:
            return "-"
        if self.kind == "share":
            return f"{v:.0%}"
        return f"{v:.2f}" if self.kind == "score" else f"{v:.1f}"

    def format_change(self, change: float) -> str:
        if self.kind == "share":
            return f"{change * 100:+.0f} percentage points"
        return f"{change:+.2f}" if self.kind == "score" else f"{change:+.1f}"


METRICS = (
    Metric(
        "eye_contact_ratio",
        "Eye contact",
        "eye contact",
        "share",
        "eye_contact_coverage",
        "Of the time the eyes could be seen, the share spent looking into the camera: what the "
        "other person experiences as being looked at.",
    ),
    Metric(
        "attention_ratio",
        "Attention to the partner on screen",
        "attention",
        "share",
        "attention_coverage",
        "Of the time the eyes could be seen, the share spent looking where the gaze usually "
        "rested, normally the partner's face on the screen. It is learned from each session, "
        "so it assumes the partner was looked at most.",
    ),
    Metric(
        "expressiveness_score",
        "Expressiveness",
        "expressive",
        "score",
        "expressiveness_coverage",
        "How animated the face was (0-1), compared with the person's own resting face in that "
        "session. A rough indication: it compares sessions of one person better than people.",
    ),
    Metric(
        "smile_ratio",
        "Smiling",
        "smiling",
        "share",
        "face_visible_ratio",
        "Of the time the face could be seen, the share with a clear smile.",
    ),
    Metric(
        "openness",
        "Open posture",
        "openness",
        "score",
        "posture_coverage",
        "How open the upper body looked (0-1): arms away from the torso, shoulders turned to "
        "the camera, hands visible. Needs both arms in the picture.",
    ),
    Metric(
        "arms_crossed_ratio",
        "Arms crossed",
        "arms crossed",
        "share",
        "posture_coverage",
        "Of the time both arms could be seen, the share with arms folded. Often it is simply "
        "comfortable; it is worth a look only together with the rest.",
    ),
    Metric(
        "nods_per_min",
        "Nods per minute",
        "nods/min",
        "rate",
        "head_coverage",
        "Nods of the head per minute it could be seen; small or very slow nods are missed.",
    ),
    Metric(
        "face_visible_ratio",
        "Face in view",
        "face seen",
        "share",
        None,
        "The share of the session in which the face was found at all. When it is low, every "
        "other measure stands on less.",
    ),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}


@dataclass(frozen=True)
class Trend:
    """First and last measured value of one measure of one person (sessions where it was not
    measurable are skipped); ``change`` is None unless it was measured in two sessions."""

    first: float | None
    last: float | None
    change: float | None
    measured_sessions: int


# --- reading --------------------------------------------------------------------------------


def load_reports(paths: Sequence[Path]) -> list[Report]:
    """Read report.json files (or Presence output folders holding one), in the order given."""
    return [_load_report(p) for p in paths]


def load_sessions(paths: Sequence[Path]) -> list[Session]:
    """Reports with their video's name, dated by the report file's modification time."""
    out: list[Session] = []
    for path, report in zip(paths, load_reports(paths), strict=True):
        mtime_s = _report_file(path).stat().st_mtime
        when = datetime.fromtimestamp(mtime_s, tz=timezone.utc).astimezone()
        out.append((report.video.name, when, report))
    return out


def _report_file(path: Path) -> Path:
    return path / "report.json" if path.is_dir() else path


def _load_report(path: Path) -> Report:
    file = _report_file(path)
    try:
        data = json.loads(file.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except OSError as e:
        raise InputError(f"{file}: cannot read it ({e.strerror})") from None
    except ValueError as e:
        raise InputError(f"{file}: not valid JSON ({_one_line(str(e))})") from None
    if not isinstance(data, dict):
        raise InputError(f"{file}: not a Presence report (expected a JSON object)")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise InputError(
            f"{file}: report schema_version {version!r} is not supported "
            f"(expected one of {', '.join(READABLE_VERSIONS)})"
        )
    try:
        return Report.model_validate(data)
    except pydantic.ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise InputError(
            f"{file}: not a Presence report ({where}: {_one_line(err['msg'])})"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- points and trends ----------------------------------------------------------------------


def progress(sessions: Sequence[Session]) -> list[SessionPoint]:
    """One point per person per session, by time, then person. A naive ``recorded_at`` is read
    as local time."""
    points = [
        SessionPoint(
            session=name,
            recorded_at=_aware(when),
            person_id=p.id,
            position=p.position,
            eye_contact_ratio=p.eye_contact.ratio,
            eye_contact_coverage=p.eye_contact.coverage,
            attention_ratio=p.attention.ratio,
            attention_coverage=p.attention.coverage,
            expressiveness_score=p.expressiveness.score,
            expressiveness_coverage=p.expressiveness.coverage,
            smile_ratio=p.expressiveness.smile_ratio,
            openness=p.posture.openness,
            arms_crossed_ratio=p.posture.arms_crossed_ratio,
            posture_coverage=p.posture.coverage,
            nods_per_min=p.head.nods_per_min,
            head_coverage=p.head.coverage,
            face_visible_ratio=p.face_visible_ratio,
        )
        for name, when, report in sessions
        for p in report.people
    ]
    return sorted(points, key=lambda q: (q.recorded_at, q.session, q.person_id))


def _aware(when: datetime) -> datetime:
    return when.astimezone() if when.tzinfo is None else when


def trends(points: Sequence[SessionPoint]) -> dict[tuple[int, str], Trend]:
    """For each (person id, metric key): first and last measured values and the change."""
    out: dict[tuple[int, str], Trend] = {}
    for pid in sorted({p.person_id for p in points}):
        mine = sorted((p for p in points if p.person_id == pid), key=lambda p: p.recorded_at)
        for m in METRICS:
            values = [v for v in (m.value(p) for p in mine) if v is not None]
            if not values:
                out[(pid, m.key)] = Trend(None, None, None, 0)
                continue
            change = round(values[-1] - values[0], 3) if len(values) >= 2 else None
            out[(pid, m.key)] = Trend(values[0], values[-1], change, len(values))
    return out


# --- plain text -----------------------------------------------------------------------------

_TABLE_COLUMNS: tuple[tuple[str, Callable[[SessionPoint], str]], ...] = (
    ("date", lambda p: _date(p.recorded_at)),
    ("session", lambda p: p.session),
    ("person", lambda p: f"{p.person_id} {p.position}"),
    ("eye contact", lambda p: METRIC_BY_KEY["eye_contact_ratio"].format(p.eye_contact_ratio)),
    ("(eyes seen)", lambda p: f"{p.eye_contact_coverage:.0%}"),
    ("attention", lambda p: METRIC_BY_KEY["attention_ratio"].format(p.attention_ratio)),
    ("expressive", lambda p: METRIC_BY_KEY["expressiveness_score"].format(p.expressiveness_score)),
    ("smiling", lambda p: METRIC_BY_KEY["smile_ratio"].format(p.smile_ratio)),
    ("openness", lambda p: METRIC_BY_KEY["openness"].format(p.openness)),
    ("arms crossed", lambda p: METRIC_BY_KEY["arms_crossed_ratio"].format(p.arms_crossed_ratio)),
    ("(arms seen)", lambda p: f"{p.posture_coverage:.0%}"),
    ("nods/min", lambda p: METRIC_BY_KEY["nods_per_min"].format(p.nods_per_min)),
    ("face seen", lambda p: f"{p.face_visible_ratio:.0%}"),
)


def progress_table(points: Sequence[SessionPoint]) -> str:
    """One row per session per person; "-" where a measure was not measurable."""
    rows = [[head for head, _ in _TABLE_COLUMNS]]
    rows += [[cell(p) for _, cell in _TABLE_COLUMNS] for p in points]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_TABLE_COLUMNS))]
    text_columns = 3  # date, session, person: left-aligned; numbers right-aligned
    lines = [
        "  ".join(
            c.ljust(w) if i < text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def _date(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 960px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin: 0 0 .3rem; }
.lead, .explain, .note { color: #555; }
.metric { border: 1px solid #ddd; border-radius: 8px; padding: 1rem; margin: 1.2rem 0;
          break-inside: avoid; page-break-inside: avoid; }
.chart { height: 300px; }
.change { margin: .4rem 0 0; padding-left: 1.2rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin-top: .6rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: .3rem .4rem; text-align: right; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
td .cov { display: block; color: #777; font-size: .8em; white-space: nowrap; }
td:first-child, td:nth-child(3) { white-space: nowrap; }
.na { color: #999; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  .metric { border-color: #bbb; }
  .table-wrap { overflow: visible; }
  .modebar-container { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
"""


def progress_html(title: str, points: Sequence[SessionPoint]) -> str:
    """One self-contained page: a chart per measure (plotly.js inlined once, no network), the
    change of each person, and a table of the sessions."""
    from plotly.offline import get_plotlyjs

    sessions = sorted({(p.recorded_at, p.session) for p in points})
    people = sorted({p.person_id for p in points})
    if len(sessions) == 1:
        lead = "One session so far: the charts show where things stand; trends need two."
    else:
        first, last = _date(sessions[0][0]), _date(sessions[-1][0])
        lead = f"{len(sessions)} sessions from {first} to {last}."
    all_trends = trends(points)
    sections = [_metric_section(m, points, people, all_trends) for m in METRICS]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_CSS}</style>",
            f"<script>{get_plotlyjs()}</script>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(title)}</h1>",
            f'<p class="lead">{html.escape(lead)}</p>',
            '<p class="note">Each value counts only the time its signal could be measured; how '
            "much of the session that was is shown beside it (hover a point, or see the table). "
            f"Hollow points stand on less than {LOW_COVERAGE:.0%} of the session. A missing "
            "point means not measurable in that session, not zero. People are matched across "
            "sessions by their place in the picture (person 1 is leftmost).</p>",
            *sections,
            "<h2>Sessions</h2>",
            _sessions_table(points),
            "</body>",
            "</html>",
            "",
        ]
    )


def _metric_section(
    m: Metric,
    points: Sequence[SessionPoint],
    people: Sequence[int],
    all_trends: dict[tuple[int, str], Trend],
) -> str:
    changes = []
    for pid in people:
        t = all_trends[(pid, m.key)]
        who = f"Person {pid}"
        if t.first is None or t.last is None:
            changes.append(f"{who}: not measured yet.")
        elif t.change is None:
            changes.append(f"{who}: {m.format(t.first)} (measured in one session).")
        else:
            changes.append(
                f"{who}: {m.format(t.first)} → {m.format(t.last)} "
                f"({m.format_change(t.change)} over {t.measured_sessions} measured sessions)."
            )
    items = "".join(f"<li>{html.escape(c)}</li>" for c in changes)
    return (
        f'<section class="metric" id="{m.key}">'
        f"<h2>{html.escape(m.label)}</h2>"
        f'<p class="explain">{html.escape(m.explanation)}</p>'
        f"{_chart(m, points, people)}"
        f'<ul class="change">{items}</ul>'
        "</section>"
    )


def _chart(m: Metric, points: Sequence[SessionPoint], people: Sequence[int]) -> str:
    import plotly.graph_objects as go
    import plotly.io as pio

    sessions = sorted({(p.recorded_at, p.session) for p in points})
    fig = go.Figure()
    for i, pid in enumerate(people):
        # Every session gets an entry, so a session without this person is a gap in the line.
        at = {(p.recorded_at, p.session): p for p in points if p.person_id == pid}
        mine = [at.get(s) for s in sessions]
        covs = [None if p is None else m.coverage_of(p) for p in mine]
        fig.add_trace(
            go.Scatter(
                x=[when.strftime("%Y-%m-%d %H:%M:%S") for when, _ in sessions],
                y=[None if p is None else m.value(p) for p in mine],
                customdata=[
                    [name, "whole session" if c is None else f"{c:.0%} of the session"]
                    for (_, name), c in zip(sessions, covs, strict=True)
                ],
                name=f"Person {pid}",
                mode="lines+markers",
                connectgaps=False,
                line={"color": COLOURS[i % len(COLOURS)], "width": 2},
                marker={
                    "size": 9,
                    "symbol": [
                        "circle-open" if c is not None and c < LOW_COVERAGE else "circle"
                        for c in covs
                    ],
                },
                hovertemplate=(
                    f"Person {pid}<br>%{{customdata[0]}}<br>{html.escape(m.label)}: "
                    f"{_hover_value(m)}<br>measured over %{{customdata[1]}}<extra></extra>"
                ),
            )
        )
    yaxis: dict[str, object] = {"rangemode": "tozero", "gridcolor": "#eee"}
    if m.kind == "share":
        yaxis.update(range=[-0.03, 1.03], tickformat=".0%")
    elif m.kind == "score":
        yaxis.update(range=[-0.03, 1.03])
    fig.update_layout(
        template="simple_white",
        margin={"l": 50, "r": 20, "t": 40 if len(people) > 1 else 10, "b": 40},
        height=300,
        hovermode="closest",
        showlegend=len(people) > 1,
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        xaxis={"type": "date", "title": "session date", "gridcolor": "#eee"},
        yaxis=yaxis,
    )
    out: str = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        div_id=f"chart-{m.key}",
        default_height="300px",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart">{out}</div>'


def _hover_value(m: Metric) -> str:
    if m.kind == "share":
        return "%{y:.0%}"
    return "%{y:.2f}" if m.kind == "score" else "%{y:.1f}"


def _sessions_table(points: Sequence[SessionPoint]) -> str:
    heads = ["date", "session", "person", *(m.short for m in METRICS)]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    body = []
    for p in points:
        cells = [_date(p.recorded_at), p.session, f"{p.person_id} ({p.position})"]
        row = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        for m in METRICS:
            v, c = m.value(p), m.coverage_of(p)
            if v is None:
                row += '<td class="na">not measured</td>'
                continue
            cov = "" if c is None else f'<span class="cov">{c:.0%} seen</span>'
            row += f"<td>{html.escape(m.format(v))}{cov}</td>"
        body.append(f"<tr>{row}</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="table-wrap">{table}</div>'
