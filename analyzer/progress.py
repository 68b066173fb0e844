"""A coach's view across sessions, the data: each person's measures per session and their trend
(``analyzer.progress_page`` shows them as a table for the terminal and a page of charts).

People are matched across sessions by their ``id`` (1 = leftmost or topmost), so the same seat
should mean the same person. A measure that was not measurable in a session is a gap, never 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pydantic

from analyzer.errors import InputError
from analyzer.report_schema import READABLE_VERSIONS, Report

Session = tuple[str, datetime, Report]  # name, when it was recorded, its report.json
LOW_COVERAGE = 0.25  # below this share of the session a value stands on little: drawn hollow


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
