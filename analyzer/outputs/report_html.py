"""report.html: one self-contained page a couple or a coach would rather look at than read.

A card per person, interactive timelines (Plotly, inlined: the file opens from disk with no
network), the moments worth a look with small pictures, and a kind, plain explanation of each
measure and what it cannot tell. Prints cleanly.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from analyzer.outputs.partners_text import mirroring_sentence, synchrony_sentence
from analyzer.outputs.thumbnails import crops_at, jpeg_data_uri
from analyzer.types import AnalysisReport, PersonReport, PersonSample, SourceKind

COLOURS = ("#2f6f9e", "#c0623a", "#4c9a5b", "#8a5fb0")


@dataclass(frozen=True)
class Moment:
    person_id: int
    kind: str  # "looked away", "held gaze", "arms crossed", "looked down"
    start_s: float
    end_s: float

    @property
    def key(self) -> tuple[int, str, float]:
        return (self.person_id, self.kind, self.start_s)


def moments(report: AnalysisReport) -> list[Moment]:
    out: list[Moment] = []
    for p in report.people:
        m = p.metrics
        pid = p.track.id
        out += [
            Moment(pid, "looked away", e.start_s, e.end_s) for e in m.eye_contact.look_away_episodes
        ]
        out += [
            Moment(pid, "held gaze", e.start_s, e.end_s) for e in m.eye_contact.staring_episodes
        ]
        out += [Moment(pid, "looked down", e.start_s, e.end_s) for e in m.looking_down_episodes]
        out += [Moment(pid, "arms crossed", e.start_s, e.end_s) for e in m.posture.crossed_episodes]
    return sorted(out, key=lambda mo: (mo.start_s, mo.person_id))


def connection_moments_as_moments(report: AnalysisReport) -> list[Moment]:
    """Each moment of connection as one Moment per partner (for their pictures)."""
    if report.partners is None:
        return []
    return [
        Moment(pid, "connection", m.start_s, m.end_s)
        for m in report.partners.moments[:10]
        for pid in report.partners.ids
    ]


def moment_thumbnails(
    media: Path, report: AnalysisReport, items: Sequence[Moment], limit: int = 40
) -> dict[tuple[int, str, float], str]:
    """A picture of the person at the start of each moment (the first ``limit`` moments, and
    both partners in each moment of connection)."""
    items = list(items)[:limit] + connection_moments_as_moments(report)
    by_id = {p.track.id: p for p in report.people}
    wanted: list[tuple[float, tuple[float, float], float]] = []
    keys = []
    for mo in items:
        person = by_id.get(mo.person_id)
        if person is None:
            continue
        t = mo.start_s + min(0.5, (mo.end_s - mo.start_s) / 2)
        s = _nearest(person.track.samples, t)
        face_w = s.face_width_px or report.video.height / 6
        centre = s.anchor_xy or (report.video.width / 2, report.video.height / 2)
        if mo.kind == "arms crossed":
            centre = (centre[0], centre[1] + 2.2 * face_w)
            side = 6.0 * face_w
        else:
            side = 2.6 * face_w
        wanted.append((t, centre, side))
        keys.append(mo.key)
    crops = crops_at(media, wanted)
    return {k: jpeg_data_uri(c) for k, c in zip(keys, crops, strict=True) if c is not None}


def _nearest(samples: Sequence[PersonSample], t: float) -> PersonSample:
    best = min(
        (s for s in samples if s.anchor_xy is not None),
        key=lambda s: abs(s.time_s - t),
        default=None,
    )
    return best if best is not None else samples[0]


def _pct(x: float | None) -> str:
    return "not measured" if x is None else f"{x:.0%}"


def _num(x: float | None, nd: int = 2) -> str:
    return "not measured" if x is None else f"{x:.{nd}f}"


def _fmt_time(t: float) -> str:
    m, s = divmod(max(t, 0.0), 60)
    return f"{int(m)}:{s:04.1f}"


def _coverage_note(coverage: float) -> str:
    if coverage >= 0.8:
        return f"measured over {coverage:.0%} of the session"
    if coverage > 0:
        return (
            f"measured over only {coverage:.0%} of the session: read it as a glimpse, not the whole"
        )
    return "could not be measured in this recording"


def _close_calls_note(close_calls: float | None) -> str:
    """Said only when it matters: how much of the time the call was a close one."""
    if close_calls is None or close_calls < 0.1:
        return ""
    return (
        f"; {close_calls:.0%} of it were close calls (the gaze near the edge of what counts as "
        "eye contact), moments that could go either way"
    )


def _card(p: PersonReport, colour: str, still: bool) -> str:
    m = p.metrics
    ec, att, ex, po, hd = m.eye_contact, m.attention, m.expressiveness, m.posture, m.head
    rows = [
        (
            "Eye contact",
            _pct(ec.ratio),
            _coverage_note(ec.coverage) + _close_calls_note(ec.close_calls),
            f"{ec.bouts.count} unbroken spans, the longest {_num(ec.bouts.longest_s, 1)} s"
            if ec.bouts.count
            else "",
        ),
        (
            "Attention to the screen",
            _pct(att.ratio),
            "looking at your usual spot on the screen"
            + (" (for you it is the camera itself)" if att.same_as_camera else ""),
            f"calibration confidence {_num(att.calibration_confidence)}"
            if att.calibration_confidence is not None
            else "",
        ),
        (
            "Expressiveness",
            _num(ex.score),
            _coverage_note(ex.coverage),
            f"smiling {_pct(ex.smile_ratio)} of the time" if ex.smile_ratio is not None else "",
        ),
        (
            "Openness",
            _num(po.openness),
            _coverage_note(po.coverage),
            f"arms crossed {_pct(po.arms_crossed_ratio)}"
            if po.arms_crossed_ratio is not None
            else "",
        ),
        (
            "Nods",
            "not measured" if hd.nods is None else str(hd.nods),
            _coverage_note(hd.coverage),
            f"{hd.nods_per_min:.1f} per minute" if hd.nods_per_min is not None else "",
        ),
    ]
    if still:
        rows = rows[:1] + rows[3:4]
    body = "".join(
        f"<div class='metric'><div class='label'>{html.escape(a)}</div>"
        f"<div class='value'>{html.escape(b)}</div><div class='note'>{html.escape(c)}</div>"
        f"<div class='note'>{html.escape(d)}</div></div>"
        for a, b, c, d in rows
    )
    return (
        f"<section class='card' style='border-top-color:{colour}'>"
        f"<h2>Person {p.track.id} <span class='pos'>({p.track.position.value})</span></h2>"
        f"<div class='metrics'>{body}</div>"
        f"<p class='note'>Face visible {m.face_visible_ratio:.0%} of the time.</p></section>"
    )


def timeline_figure_html(report: AnalysisReport) -> str:
    """All signals of all people on one shared, zoomable time axis (Plotly, inlined)."""
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.subplots import make_subplots

    rows: list[tuple[str, Callable[[PersonSample], float | bool | None], bool]] = [
        ("Eye contact (1 = into the camera)", lambda s: s.eye_contact, True),
        ("Looking at the screen target", lambda s: s.on_screen, True),
        ("Expressiveness (0-1)", lambda s: s.expressiveness, False),
        ("Smile (0-1)", lambda s: s.smile, False),
        ("Openness (0-1)", lambda s: s.openness, False),
        ("Arms crossed", lambda s: s.arms_crossed, True),
        ("Head pitch (deg; nods marked)", lambda s: s.head_pitch_deg, False),
    ]
    fig = make_subplots(
        rows=len(rows),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.025,
        subplot_titles=[r[0] for r in rows],
    )
    for i, p in enumerate(report.people):
        colour = COLOURS[i % len(COLOURS)]
        name = f"Person {p.track.id}"
        t = [s.time_s for s in p.track.samples]
        for r, (title, get, boolean) in enumerate(rows, start=1):
            y = [None if (v := get(s)) is None else float(v) for s in p.track.samples]
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=y,
                    name=name,
                    legendgroup=name,
                    showlegend=r == 1,
                    line={"color": colour, "width": 1.6, "shape": "hv" if boolean else "linear"},
                    connectgaps=False,
                    hovertemplate=f"{name}<br>%{{x:.1f}} s: %{{y:.2f}}<extra>{title}</extra>",
                ),
                row=r,
                col=1,
            )
        pitch = [
            math.nan if s.head_pitch_deg is None else s.head_pitch_deg for s in p.track.samples
        ]
        nods = p.metrics.head.nod_list  # the same nods report.json counts
        if nods:
            fig.add_trace(
                go.Scatter(
                    x=[n.time_s for n in nods],
                    y=[pitch[min(range(len(t)), key=lambda k: abs(t[k] - n.time_s))] for n in nods],
                    mode="markers",
                    marker={"color": colour, "symbol": "triangle-down", "size": 9},
                    name=f"{name} nods",
                    legendgroup=name,
                    showlegend=False,
                    hovertemplate="nod at %{x:.1f} s<extra></extra>",
                ),
                row=len(rows),
                col=1,
            )
    for r, (_, _, boolean) in enumerate(rows, start=1):
        if boolean:
            fig.update_yaxes(
                range=[-0.1, 1.1], tickvals=[0, 1], ticktext=["no", "yes"], row=r, col=1
            )
    fig.update_xaxes(title_text="seconds", row=len(rows), col=1)
    fig.update_layout(
        height=170 * len(rows),
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        hovermode="x unified",
        plot_bgcolor="#fbfaf7",
        paper_bgcolor="#ffffff",
        legend={"orientation": "h", "y": 1.02, "x": 0},
    )
    return str(
        pio.to_html(
            fig,
            include_plotlyjs=True,
            full_html=False,
            div_id="timelines",
            config={"displaylogo": False, "responsive": True},
        )
    )


def _together(report: AnalysisReport, thumbnails: Mapping[tuple[int, str, float], str]) -> str:
    p = report.partners
    assert p is not None
    a, b = p.ids
    if p.mutual_gaze_ratio is None:
        gaze = "We could not measure where both were looking at the same time."
    elif p.same_room:
        gaze = (
            f"You looked at each other {p.mutual_gaze_ratio:.0%} of the time both of you "
            f"could be measured ({p.mutual_gaze_coverage:.0%} of the session)."
        )
    else:
        gaze = (
            f"You both looked into your cameras at the same time {p.mutual_gaze_ratio:.0%} "
            f"of the time both could be measured: that is how eye contact feels on a call."
        )
    items = [
        f"<li>{html.escape(gaze)}</li>",
        f"<li>{html.escape(synchrony_sentence('Head movement', p.head_synchrony, p.ids))}</li>",
        f"<li>{html.escape(synchrony_sentence('Expressiveness', p.expression_synchrony, p.ids))}"
        "</li>",
        *(f"<li>{html.escape(mirroring_sentence(m))}</li>" for m in p.mirroring),
    ]
    rows = []
    for m in p.moments[:10]:
        pics = "".join(
            f"<img alt='' src='{thumbnails[(pid, 'connection', m.start_s)]}'>"
            for pid in (a, b)
            if (pid, "connection", m.start_s) in thumbnails
        )
        rows.append(
            f"<tr><td><div class='pair'>{pics}</div></td><td>{_fmt_time(m.start_s)} - "
            f"{_fmt_time(m.end_s)}</td><td>{html.escape(', '.join(m.reasons))}</td></tr>"
        )
    moments_html = (
        "<table><tr><th></th><th>When</th><th>What</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p class='note'>No moment where both were engaged and warm at once for a "
        "second or more. That says little on its own: short or quiet calls often have none.</p>"
    )
    return (
        f"<h3 id='together'>Together</h3><div class='panel' style='padding:12px 16px'><ul>"
        f"{''.join(items)}</ul></div><h3>Moments of connection</h3>{moments_html}"
    )


EXPLANATIONS = """
<dl>
<dt>Eye contact</dt><dd>Looking into the camera lens, which is what the other person sees as
being looked at on a call. It is estimated from the head's turn and the eyes' position, to within
several degrees, so a glance just beside the lens can count either way. A blink is not looking
away. Looking at someone's face on a laptop screen sits close to the lens and may count as eye
contact; the card says when that is so.</dd>
<dt>Attention to the screen</dt><dd>Looking at the spot you looked at most in this session,
usually your partner's face on the screen. It assumes that is where they were; if you mostly
read notes, the "spot" is the notes.</dd>
<dt>Expressiveness</dt><dd>How much your face moved beyond talking (brows, eyes, smiles,
frowns), compared with your own resting face in this session, not with anyone else's. It agrees
only loosely with how people rate expressiveness, so read it as a rough indication.</dd>
<dt>Openness and crossed arms</dt><dd>Arms away from the body, shoulders facing the camera and
hands in view. Crossed arms are counted only when both arms are in the picture; with a webcam
they often are not, and then nothing is guessed. Crossed arms can mean comfort or cold as much
as closing off.</dd>
<dt>Nods</dt><dd>A dip of the head that comes back within a second and a half. Small or slow
nods are missed.</dd>
<dt>Together</dt><dd>Looking at each other (one room) or both into your cameras (a call) at
the same time. In one room, a face seen in profile is judged by which way the head turns, not
by the eyes, which are not seen; the notes say when that was so. Moving your heads and faces
in step more than chance would (the chance level comes from pairing one of you with a
time-shifted, reshuffled copy of the other); a smile answered by a smile within three seconds,
beside how many chance alone would answer. Moments
of connection are where both were engaged and warm at once. In step is not the same as in
tune, and a quiet, still moment can be close too.</dd>
<dt>What none of this can tell</dt><dd>How anyone felt, or what a moment meant between you.
These are signals to notice and talk about, not a score of a person.</dd>
</dl>
"""

CSS = """
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330;
       background: #f7f5f0; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5rem; margin: 8px 0 4px; font-weight: 600; }
h2 { font-size: 1.15rem; margin: 0 0 8px; }
h3 { font-size: 1.05rem; margin: 24px 0 8px; }
.sub { color: #555; margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 14px; }
.card { background: #fff; border-radius: 12px; padding: 14px 16px; border-top: 6px solid #888; }
.pos { color: #777; font-weight: 400; }
.metrics { display: grid; grid-template-columns: 1fr 1fr; gap: 10px 14px; }
.metric .label { color: #555; font-size: .85rem; }
.metric .value { font-size: 1.35rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.note { color: #666; font-size: .82rem; margin: 0; }
.panel { background: #fff; border-radius: 12px; padding: 8px; margin-top: 14px; }
table { border-collapse: collapse; width: 100%; background: #fff; border-radius: 12px;
        overflow: hidden; }
td, th { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eee;
         vertical-align: middle; }
th { font-size: .85rem; color: #555; font-weight: 600; }
td img { width: 80px; height: 80px; object-fit: cover; border-radius: 6px; display: block; }
.pair { display: flex; gap: 6px; }
.warn { background: #fff6e5; border-left: 4px solid #d99520; padding: 8px 12px;
        border-radius: 8px; }
dl dt { font-weight: 600; margin-top: 10px; } dl dd { margin: 2px 0 0 0; color: #333; }
@media print {
  body { background: #fff; font-size: 12px; }
  .card, .panel, table { break-inside: avoid; border: 1px solid #ddd; }
  .modebar, .modebar-container { display: none !important; }
  #moments { break-before: page; }
}
"""


def report_page(report: AnalysisReport, media: Path) -> str:
    """The report page for an analyzed file, with pictures of its moments when it is a video
    (each sought in the video)."""
    video = report.video.kind == SourceKind.VIDEO
    thumbs = moment_thumbnails(media, report, moments(report)) if video else {}
    return render_html(report, thumbs)


def render_html(
    report: AnalysisReport,
    thumbnails: Mapping[tuple[int, str, float], str] | None = None,
) -> str:
    thumbnails = thumbnails or {}
    v = report.video
    still = v.kind == SourceKind.IMAGE
    title = f"Presence report - {v.name}"
    sub = f"{len(report.people)} person(s)"
    if v.duration_s:
        sub += f", {_fmt_time(v.duration_s)} of video"
    cards = "".join(_card(p, COLOURS[i % len(COLOURS)], still) for i, p in enumerate(report.people))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title><link rel='icon' href='data:,'>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p class='sub'>{html.escape(sub)}. Made on "
        f"this computer by Presence {html.escape(report.versions.get('presence', ''))}; "
        f"nothing was uploaded.</p></header><main>",
        f"<div class='cards'>{cards}</div>",
    ]
    if report.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
        parts.append(
            f"<div class='warn' style='margin-top:14px'><b>Good to know</b><ul>{items}</ul></div>"
        )
    if not still:
        parts.append(
            "<h3>Over time</h3><p class='note'>Hover for values; drag to zoom, "
            "double-click to zoom out. Gaps are moments that could not be measured.</p>"
        )
        parts.append(f"<div class='panel'>{timeline_figure_html(report)}</div>")
        found = moments(report)
        parts.append("<h3 id='moments'>Moments worth a look</h3>")
        if found:
            rows = []
            for mo in found:
                img = thumbnails.get(mo.key)
                pic = f"<img alt='' src='{img}'>" if img else ""
                rows.append(
                    f"<tr><td>{pic}</td><td>Person {mo.person_id}</td>"
                    f"<td>{html.escape(mo.kind)}</td><td>{_fmt_time(mo.start_s)} - "
                    f"{_fmt_time(mo.end_s)}</td><td>{mo.end_s - mo.start_s:.1f} s</td></tr>"
                )
            parts.append(
                "<table><tr><th></th><th>Who</th><th>What</th><th>When</th>"
                "<th>How long</th></tr>" + "".join(rows) + "</table>"
            )
        else:
            parts.append(
                "<p class='note'>Nothing stood out: no long look-aways, held gazes, "
                "looking down or crossed arms.</p>"
            )
    if report.partners is not None and not still:
        parts.append(_together(report, thumbnails))
    parts.append(f"<h3>What the measures mean, and what they cannot tell</h3>{EXPLANATIONS}")
    parts.append(
        "</main><footer class='note'>Numbers are estimates from ordinary video; "
        "each says how much of the session it covers. Accuracy figures: "
        "docs/accuracy.md in the Presence repository.</footer></body></html>"
    )
    return "".join(parts)
