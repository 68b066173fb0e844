"""ELAN export: one tier per person per signal, linked to the video, for frame-level review.

The spans are the same runs of analyzed frames that ``report.json`` counts (``metrics.runs`` with
the same frame durations and bridging of short unmeasured gaps), so a coder can check in ELAN
what the report measured. ELAN times are whole milliseconds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.etree import ElementTree

import pympi.Elan

from analyzer.config import AnalyzerConfig
from analyzer.errors import OutputError
from analyzer.metrics import frame_durations, runs
from analyzer.types import AnalysisReport, Nod, PersonReport

Span = tuple[int, int, str]  # start_ms, end_ms, annotation value

EYE_CONTACT = "eye contact"
LOOKING_AWAY = "looking away"
ARMS_CROSSED = "arms crossed"
SMILING = "smiling"
NODS = "nods"
SIGNALS = (EYE_CONTACT, LOOKING_AWAY, ARMS_CROSSED, SMILING, NODS)
# A nod is an instant (its lowest point); ELAN needs a span, so it gets this much around it.
NOD_SPAN_S = 0.4

_MIME_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".wav": "audio/x-wav",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}


def tier_id(person_id: int, signal: str) -> str:
    """The ELAN tier of one signal of one person, e.g. ``"P1 eye contact"``."""
    return f"P{person_id} {signal}"


def media_mime_type(path: Path) -> str:
    """The MIME type ELAN expects for a linked media file, from its suffix."""
    return _MIME_TYPES.get(path.suffix.lower(), "unknown")


def eaf_spans(report: AnalysisReport) -> dict[str, list[Span]]:
    """Every tier of the export (also the empty ones), in person then signal order."""
    out: dict[str, list[Span]] = {}
    for person in report.people:
        out.update(person_spans(person, report.config))
    return out


def person_spans(person: PersonReport, cfg: AnalyzerConfig) -> dict[str, list[Span]]:
    track = person.track
    samples = track.samples
    times_s = [s.time_s for s in samples]
    dts_s = frame_durations(times_s, 1.0 / cfg.analysis_fps)
    bridge_s = cfg.episodes.bridge_gap_s

    def spans_of(values: Sequence[bool | None], state: bool, label: str) -> list[Span]:
        rs = runs(values, times_s, dts_s, bridge_s)
        return _spans(((r.start_s, r.end_s) for r in rs if r.state == state), label)

    eye_contact = [s.eye_contact for s in samples]
    threshold = cfg.expression.smile_threshold
    smiling = [None if s.smile is None else s.smile >= threshold for s in samples]
    return {
        tier_id(track.id, EYE_CONTACT): spans_of(eye_contact, True, EYE_CONTACT),
        tier_id(track.id, LOOKING_AWAY): spans_of(eye_contact, False, LOOKING_AWAY),
        tier_id(track.id, ARMS_CROSSED): spans_of(
            [s.arms_crossed for s in samples], True, ARMS_CROSSED
        ),
        tier_id(track.id, SMILING): spans_of(smiling, True, SMILING),
        tier_id(track.id, NODS): nod_spans(person.metrics.head.nod_list),
    }


def nod_spans(nods: Sequence[Nod], span_s: float = NOD_SPAN_S) -> list[Span]:
    """``span_s`` centred on each nod, from 0 on, split halfway where two nods are closer (ELAN
    annotations on one tier must not overlap); the value is the nod's amplitude."""
    centres_s = sorted(n.time_s for n in nods)
    amplitude = {n.time_s: n.amplitude_deg for n in nods}
    half_s = span_s / 2
    out: list[Span] = []
    for i, c in enumerate(centres_s):
        start_s = max(0.0, c - half_s)
        end_s = c + half_s
        if i > 0:
            start_s = max(start_s, (centres_s[i - 1] + c) / 2)
        if i + 1 < len(centres_s):
            end_s = min(end_s, (c + centres_s[i + 1]) / 2)
        out.extend(_spans([(start_s, end_s)], f"nod {amplitude[c]:.1f} deg"))
    return out


def write_eaf(report: AnalysisReport, path: Path, media_path: Path | None) -> None:
    """Write the ELAN file ``path`` (atomically), linked to ``media_path`` unless it is None."""
    eaf = build_eaf(report, eaf_spans(report), media_path, path.parent)
    document = ElementTree.ElementTree(pympi.Elan.to_adocument(eaf, pretty=True))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(f"{path}: cannot write the ELAN file ({e.strerror})") from e
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            document.write(f, encoding="UTF-8", xml_declaration=True)
        tmp.chmod(0o644)  # mkstemp makes it private to us; the export is an ordinary file
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write the ELAN file ({e.strerror})") from e


def build_eaf(
    report: AnalysisReport,
    spans: dict[str, list[Span]],
    media_path: Path | None,
    eaf_dir: Path,
) -> pympi.Elan.Eaf:
    eaf = pympi.Elan.Eaf(author="presence")
    eaf.header.update({"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    if media_path is not None:
        media = media_path.resolve()
        eaf.add_linked_file(
            media.as_uri(), relpath=_relative_url(media, eaf_dir), mimetype=media_mime_type(media)
        )
    participant = {
        tier_id(p.track.id, s): f"P{p.track.id} ({p.track.position.value})"
        for p in report.people
        for s in SIGNALS
    }
    for tier, tier_spans in spans.items():
        eaf.add_tier(tier, part=participant.get(tier), ann="presence")
        for start_ms, end_ms, value in tier_spans:
            eaf.add_annotation(tier, start_ms, end_ms, value)
    if "default" in eaf.tiers and not eaf.get_annotation_data_for_tier("default"):
        eaf.remove_tier("default")
    # ELAN numbers the annotations a user adds from this; pympi leaves it at 0.
    eaf.properties = [(k, v) for k, v in eaf.properties if k != "lastUsedAnnotation"]
    eaf.properties.append(("lastUsedAnnotation", eaf.maxaid))
    return eaf


def _spans(bounds_s: Iterable[tuple[float, float]], label: str) -> list[Span]:
    out: list[Span] = []
    for start_s, end_s in bounds_s:
        start_ms, end_ms = round(start_s * 1000), round(end_s * 1000)
        if end_ms > start_ms:
            out.append((start_ms, end_ms, label))
    return out


def _relative_url(media: Path, eaf_dir: Path) -> str | None:
    """The media path relative to the ELAN file's folder, as ELAN writes it (``./clip.mp4``)."""
    try:
        rel = Path(os.path.relpath(media, eaf_dir.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return None
    return rel if rel.startswith("../") else f"./{rel}"
