"""A coach's view across sessions, shown: a plain table for the terminal and one self-contained
HTML page of charts (plotly.js inlined, no network). The data comes from ``analyzer.progress``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime

from analyzer.progress import (
    LOW_COVERAGE,
    METRIC_BY_KEY,
    METRICS,
    Metric,
    SessionPoint,
    Trend,
    trends,
)

COLOURS = ("#2f6f9e", "#c0623a", "#4c9a5b", "#8a5fb0", "#9a7b2f", "#3a8f8f")

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
