"""Writers: ``report.json`` (see ``report_schema``), ``timeline.csv``, and the short summary.

Outputs are written into a temporary folder beside the target and moved into place only when
complete, so an interrupted run never leaves a half-written folder.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from analyzer.errors import OutputError
from analyzer.outputs.partners_text import mirroring_sentence, synchrony_sentence
from analyzer.outputs.report_schema import (
    GeneratorModel,
    LayoutModel,
    LayoutSpanModel,
    MirroringModel,
    PartnersModel,
    PersonModel,
    Report,
    TileModel,
    VideoModel,
)
from analyzer.types import (
    AnalysisReport,
    PartnerReport,
    PersonReport,
    Region,
    SourceKind,
)

TIMELINE_COLUMNS = (
    "time_s",
    "person",
    "face_visible",
    "face_x_px",
    "face_y_px",
    "eye_contact",
    "eye_contact_confidence",
    "on_screen",
    "gaze_yaw_deg",
    "gaze_pitch_deg",
    "head_yaw_deg",
    "head_pitch_deg",
    "head_roll_deg",
    "eyes_closed",
    "looking_down",
    "arms_crossed",
    "openness",
    "expressiveness",
    "smile",
)


M = TypeVar("M", bound=BaseModel)


def _from(model: type[M], obj: object, **given: object) -> M:
    """``model`` read from the attributes of ``obj`` with the same names (nested dataclasses
    too, into their own models), and ``given`` for fields named otherwise. A field the
    dataclass lacks is an AttributeError, so the two cannot drift apart silently."""
    data = {
        name: given[name] if name in given else getattr(obj, name) for name in model.model_fields
    }
    return model.model_validate(data, from_attributes=True)


def _tile(r: Region) -> TileModel:
    return TileModel(x=r.x, y=r.y, width=r.width, height=r.height)


def _person(p: PersonReport, gallery: bool) -> PersonModel:
    m = p.metrics
    return _from(
        PersonModel,
        m,
        id=p.track.id,
        position=p.track.position.value,
        tile=_tile(p.track.region) if gallery and p.track.region is not None else None,
    )


def to_model(report: AnalysisReport) -> Report:
    v = report.video
    gallery = report.layout != "single"
    return Report(
        generator=GeneratorModel(
            version=report.versions.get("presence", "unknown"),
            mediapipe=report.versions.get("mediapipe", "unknown"),
        ),
        video=VideoModel(
            name=v.name,
            kind=v.kind.value,
            duration_s=None if v.duration_s is None else round(v.duration_s, 3),
            fps=None if v.fps is None else round(v.fps, 3),
            width=v.width,
            height=v.height,
            rotation_deg=v.rotation_deg,
            frames_analyzed=report.frames_analyzed,
            analysis_fps=report.analysis_fps,
        ),
        layout=LayoutModel(
            kind=report.layout,  # type: ignore[arg-type]
            tiles=[_tile(r) for r in report.regions] if gallery else [],
            spans=[
                LayoutSpanModel(
                    start_s=s.start_s,
                    end_s=s.end_s,
                    kind=s.layout.value,  # type: ignore[arg-type]
                    tiles=[_tile(r) for r in s.regions],
                    positions=[p.value for p in s.positions],
                )
                for s in report.layout_spans
            ],
        ),
        people=[_person(p, gallery) for p in report.people],
        settings=report.config.as_dict(),
        warnings=list(report.warnings),
        partners=None if report.partners is None else _partners(report.partners),
    )


def _partners(p: PartnerReport) -> PartnersModel:
    return _from(
        PartnersModel,
        p,
        people=list(p.ids),
        mirroring=[_from(MirroringModel, m, person=m.person_id) for m in p.mirroring],
        moments_of_connection=p.moments,
    )


def _fmt(v: object, nd: int) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def timeline_csv(report: AnalysisReport) -> str:
    """One row per person per analyzed frame; booleans 1/0; empty when not measurable."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TIMELINE_COLUMNS)
    rows = []
    for p in report.people:
        for s in p.track.samples:
            rows.append((s.time_s, p.track.id, s))
    rows.sort(key=lambda r: (r[0], r[1]))
    for t, pid, s in rows:
        w.writerow(
            [
                f"{t:.3f}",
                pid,
                _fmt(s.face_visible, 0),
                "" if s.anchor_xy is None else f"{s.anchor_xy[0]:.0f}",
                "" if s.anchor_xy is None else f"{s.anchor_xy[1]:.0f}",
                _fmt(s.eye_contact, 0),
                _fmt(s.eye_contact_confidence, 3),
                _fmt(s.on_screen, 0),
                _fmt(s.gaze_yaw_deg, 1),
                _fmt(s.gaze_pitch_deg, 1),
                _fmt(s.head_yaw_deg, 1),
                _fmt(s.head_pitch_deg, 1),
                _fmt(s.head_roll_deg, 1),
                _fmt(s.eyes_closed, 0),
                _fmt(s.looking_down, 0),
                _fmt(s.arms_crossed, 0),
                _fmt(s.openness, 3),
                _fmt(s.expressiveness, 3),
                _fmt(s.smile, 3),
            ]
        )
    return buf.getvalue()


def report_json(report: AnalysisReport) -> str:
    return json.dumps(to_model(report).model_dump(mode="json"), indent=2) + "\n"


def check_output_dir(out_dir: Path) -> None:
    """Refuse to replace a folder that is not an earlier Presence output."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out")
        entries = {p.name for p in out_dir.iterdir()}
        if entries and "report.json" not in entries:
            raise OutputError(
                f"{out_dir}: folder exists and is not a Presence output (no report.json); "
                f"choose another --out or remove it"
            )


FileWriter = Callable[[Path], None]


def write_outputs(
    report: AnalysisReport,
    out_dir: Path,
    *,
    html: str | None = None,
    extras: Mapping[str, FileWriter] | None = None,
) -> None:
    """Write all outputs into ``out_dir`` atomically (replacing an earlier Presence output):
    report.json, timeline.csv, report.html if given, and each extra file (name -> a function
    that writes it to the path it is given). If anything fails, nothing is left behind."""
    check_output_dir(out_dir)
    parent = out_dir.parent if str(out_dir.parent) else Path()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    except OSError as e:
        raise OutputError(f"{out_dir}: cannot create the output folder ({e.strerror})") from e
    try:
        (tmp / "report.json").write_text(report_json(report), encoding="utf-8")
        (tmp / "timeline.csv").write_text(timeline_csv(report), encoding="utf-8")
        if html is not None:
            (tmp / "report.html").write_text(html, encoding="utf-8")
        for name, write in (extras or {}).items():
            write(tmp / name)
        old = None
        if out_dir.exists():
            old = parent / f".{out_dir.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out_dir}: cannot write the outputs ({e.strerror})") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def summary(report: AnalysisReport) -> str:
    """A few plain lines for a person, not a table of numbers."""
    v = report.video
    still = v.kind == SourceKind.IMAGE
    smile_threshold = report.config.expression.smile_threshold
    head = f"{v.name}: {len(report.people)} person(s)"
    if v.duration_s:
        head += f", {v.duration_s:.1f} s analyzed at {report.analysis_fps:g} frames/s"
    lines = [head]
    for p in report.people:
        line = _still_line(p, smile_threshold) if still else _session_line(p)
        lines.append(f"Person {p.track.id} ({p.track.position.value}): " + line)
    if report.partners is not None:
        lines.append(_partners_line(report.partners))
    lines.extend(f"note: {w}" for w in report.warnings)
    return "\n".join(lines)


def _partners_line(p: PartnerReport) -> str:
    a, b = p.ids
    where = "looked at each other" if p.same_room else "both looked into their cameras"
    parts = [f"Together (persons {a} and {b}):"]
    if p.mutual_gaze_ratio is None:
        parts.append("mutual gaze not measurable.")
    else:
        parts.append(f"{where} {p.mutual_gaze_ratio:.0%} of the time both were measured.")
    parts.append(synchrony_sentence("Head movement", p.head_synchrony, p.ids))
    parts.extend(mirroring_sentence(m) for m in p.mirroring)
    parts.append(f"{len(p.moments)} moment(s) of connection.")
    return " ".join(parts)


def _still_line(p: PersonReport, smile_threshold: float) -> str:
    s = p.track.samples[0]
    if not s.face_visible:
        parts = ["face not found"]
    elif s.eye_contact is None:
        parts = ["eyes closed" if s.eyes_closed else "gaze not measurable"]
    else:
        parts = ["looking into the camera" if s.eye_contact else "looking away from the camera"]
    if s.smile is not None and s.smile >= smile_threshold:
        parts.append("smiling")
    if s.arms_crossed is not None:
        parts.append("arms crossed" if s.arms_crossed else f"arms open (openness {s.openness:.2f})")
    return "; ".join(parts) + "."


def _session_line(p: PersonReport) -> str:
    m = p.metrics
    ec = m.eye_contact
    if ec.ratio is None:
        parts = ["eye contact not measurable"]
    else:
        parts = [
            f"eye contact {ec.ratio:.0%} of the time the eyes could be seen "
            f"({ec.coverage:.0%} of the session)"
        ]
    if m.expressiveness.score is not None:
        parts.append(f"expressiveness {m.expressiveness.score:.2f}")
    if m.expressiveness.smile_ratio is not None:
        parts.append(f"smiling {m.expressiveness.smile_ratio:.0%}")
    if m.posture.arms_crossed_ratio is None or m.posture.openness is None:
        parts.append("arms not in view")
    else:
        parts.append(
            f"arms crossed {m.posture.arms_crossed_ratio:.0%}, openness "
            f"{m.posture.openness:.2f} (arms in view {m.posture.coverage:.0%})"
        )
    if m.head.nods is not None:
        parts.append(f"{m.head.nods} nod(s)")
    return "; ".join(parts) + "."
