"""ELAN export: tiers per person and signal, linked to the video, spans that agree with
``timeline.csv`` and ``report.json``; on real clips (real models) and on synthetic samples."""

from __future__ import annotations

import csv
import io
import itertools
import math
from pathlib import Path
from urllib.parse import unquote, urlparse

import pympi.Elan
import pytest

from analyzer.config import AnalyzerConfig
from analyzer.errors import OutputError
from analyzer.metrics import frame_durations, person_metrics, runs
from analyzer.outputs.eaf import SIGNALS, eaf_spans, nod_spans, tier_id, write_eaf
from analyzer.outputs.report import timeline_csv
from analyzer.types import (
    AnalysisReport,
    Nod,
    PersonReport,
    PersonSample,
    PersonTrack,
    Position,
    SourceKind,
    VideoInfo,
)
from tests.conftest import Analyzer, media

CFG = AnalyzerConfig()
NODDING = "talking/npg_head_nodding.mp4"  # one man nodding at the camera, 9 s
GALLERY = "conversation/composite_gallery_2up_hdtf.mp4"  # two people, side-by-side tiles
FRAME_S = 1.0 / CFG.analysis_fps
BRIDGE_S = CFG.episodes.bridge_gap_s
STATE = {"1": True, "0": False, "": None}


def _annotations(eaf: pympi.Elan.Eaf, tier: str) -> list[tuple[int, int, str]]:
    return sorted(eaf.get_annotation_data_for_tier(tier))


def _timeline(report: AnalysisReport, person_id: int, column: str) -> list[tuple[float, str]]:
    rows = csv.DictReader(io.StringIO(timeline_csv(report)))
    return [(float(r["time_s"]), r[column]) for r in rows if int(r["person"]) == person_id]


def _write(report: AnalysisReport, rel: str, tmp_path: Path) -> pympi.Elan.Eaf:
    out = tmp_path / "session.eaf"
    write_eaf(report, out, media(rel))
    return pympi.Elan.Eaf(str(out))


@pytest.mark.parametrize("rel", [NODDING, GALLERY])
def test_every_person_gets_one_tier_per_signal_and_the_video_is_linked(
    analyzed: Analyzer, rel: str, tmp_path: Path
) -> None:
    report = analyzed(rel)
    eaf = _write(report, rel, tmp_path)
    expected = {tier_id(p.track.id, s) for p in report.people for s in SIGNALS}
    assert set(eaf.get_tier_names()) == expected  # pympi's empty "default" tier is gone
    if rel == GALLERY:
        assert {"P1 eye contact", "P2 eye contact"} <= expected
    for p in report.people:
        part = eaf.get_parameters_for_tier(tier_id(p.track.id, "eye contact"))["PARTICIPANT"]
        assert part == f"P{p.track.id} ({p.track.position.value})"

    [linked] = eaf.get_linked_files()
    url = urlparse(linked["MEDIA_URL"])
    assert url.scheme == "file"
    assert Path(unquote(url.path)) == media(rel).resolve()
    assert (tmp_path / linked["RELATIVE_MEDIA_URL"]).resolve() == media(rel).resolve()
    assert linked["MIME_TYPE"] == "video/mp4"

    # What was written is what eaf_spans says.
    for tier, spans in eaf_spans(report).items():
        assert _annotations(eaf, tier) == sorted(spans), tier


@pytest.mark.parametrize("rel", [NODDING, GALLERY])
def test_eye_contact_spans_are_the_runs_of_the_timeline(
    analyzed: Analyzer, rel: str, tmp_path: Path
) -> None:
    """Recomputed from timeline.csv alone (times, 1/0/empty), the runs give the same spans."""
    report = analyzed(rel)
    eaf = _write(report, rel, tmp_path)
    for p in report.people:
        rows = _timeline(report, p.track.id, "eye_contact")
        times = [t for t, _ in rows]
        rs = runs([STATE[v] for _, v in rows], times, frame_durations(times, FRAME_S), BRIDGE_S)
        for state, signal in ((True, "eye contact"), (False, "looking away")):
            expected = [
                (round(r.start_s * 1000), round(r.end_s * 1000), signal)
                for r in rs
                if r.state == state
            ]
            assert _annotations(eaf, tier_id(p.track.id, signal)) == expected


def test_eye_contact_spans_start_and_end_where_the_timeline_changes(
    analyzed: Analyzer, tmp_path: Path
) -> None:
    report = analyzed(NODDING)
    eaf = _write(report, NODDING, tmp_path)
    rows = _timeline(report, 1, "eye_contact")
    for signal, value in (("eye contact", "1"), ("looking away", "0")):
        spans = _annotations(eaf, tier_id(1, signal))
        assert spans, f"{NODDING} has {signal}"
        for start_ms, end_ms, label in spans:
            assert label == signal
            start_s, end_s = start_ms / 1000, end_ms / 1000
            # The span starts on a frame with this value whose predecessor had another one ...
            i = next(i for i, (t, _) in enumerate(rows) if abs(t - start_s) < 0.0015)
            assert rows[i][1] == value
            assert i == 0 or rows[i - 1][1] != value
            # ... and ends at most one frame after the last frame with it, before another value.
            last = max(j for j, (t, _) in enumerate(rows) if t < end_s - 0.0015)
            assert rows[last][1] == value
            assert end_s - rows[last][0] <= FRAME_S * 3 + 0.002
            after = [v for t, v in rows if t >= end_s - 0.0015]
            assert not after or after[0] != value


def test_eye_contact_time_agrees_with_the_report(analyzed: Analyzer, tmp_path: Path) -> None:
    """Tier time = ratio x coverage x session time (the measured eye-contact time) plus the
    blinks bridged inside the spans, up to the rounding of ratio and coverage in report.json."""
    report = analyzed(NODDING)
    eaf = _write(report, NODDING, tmp_path)
    [person] = report.people
    rows = _timeline(report, 1, "eye_contact")
    times = [t for t, _ in rows]
    dts = frame_durations(times, FRAME_S)
    session_s = sum(dts)
    spans = [(a / 1000, b / 1000) for a, b, _ in _annotations(eaf, "P1 eye contact")]
    tier_s = sum(b - a for a, b in spans)
    bridged_s = sum(
        d
        for (t, v), d in zip(rows, dts, strict=True)
        if v == "" and any(a <= t < b for a, b in spans)
    )
    ec = person.metrics.eye_contact
    assert ec.ratio is not None and ec.ratio > 0.5
    measured_s = ec.ratio * ec.coverage * session_s
    assert tier_s == pytest.approx(measured_s + bridged_s, abs=0.001 * session_s + 0.001 * 20)


def test_nod_tier_holds_the_nods_the_report_counts(analyzed: Analyzer, tmp_path: Path) -> None:
    report = analyzed(NODDING)
    eaf = _write(report, NODDING, tmp_path)
    [person] = report.people
    nods = _annotations(eaf, "P1 nods")
    assert person.metrics.head.nods is not None and person.metrics.head.nods >= 3
    assert len(nods) == person.metrics.head.nods
    duration_ms = (report.video.duration_s or 0) * 1000
    for start_ms, end_ms, value in nods:
        assert 0 <= start_ms < end_ms <= start_ms + 400
        assert start_ms < duration_ms
        assert value.startswith("nod ") and value.endswith(" deg")
        assert float(value.split()[1]) >= CFG.episodes.nod_min_amplitude_deg
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(nods))  # no overlaps


def test_rewriting_replaces_the_file_and_leaves_nothing_beside_it(
    analyzed: Analyzer, tmp_path: Path
) -> None:
    report = analyzed(NODDING)
    out = tmp_path / "session.eaf"
    out.write_text("old", encoding="utf-8")
    write_eaf(report, out, None)
    write_eaf(report, out, media(NODDING))
    assert [p.name for p in tmp_path.iterdir()] == ["session.eaf"]
    assert out.read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert len(pympi.Elan.Eaf(str(out)).get_linked_files()) == 1


# --- synthetic samples --------------------------------------------------------------------


def _synthetic_report() -> AnalysisReport:
    """10 s at 10 frames/s. Eye contact 0-3 s, a 0.3 s blink (bridged), contact to 5 s, away
    5-7 s, face lost 7-8 s (too long to bridge), contact 8-10 s. Arms crossed 2-4 s; smiling
    (mouthSmile 0.8) 6-9 s, not measured while the face is lost; head dips of 14 deg at 2 s and
    6 s (nods: above the 10 deg a nod needs)."""
    samples = []
    for i in range(100):
        t = i / 10
        if 70 <= i < 80:
            samples.append(PersonSample(time_s=t, face_visible=False))
            continue
        blink = 30 <= i < 33
        dip = sum(-14.0 * math.exp(-(((t - c) / 0.12) ** 2)) for c in (2.0, 6.0))
        samples.append(
            PersonSample(
                time_s=t,
                face_visible=True,
                eyes_closed=blink,
                eye_contact=None if blink else not 50 <= i < 70,
                arms_crossed=20 <= i < 40,
                smile=0.8 if 60 <= i < 90 else 0.1,
                head_pitch_deg=dip,
                head_yaw_deg=0.0,
            )
        )
    track = PersonTrack(id=1, position=Position.CENTER, samples=tuple(samples))
    return AnalysisReport(
        video=VideoInfo("synthetic.mp4", SourceKind.VIDEO, 640, 480, 10.0, 10.0),
        frames_analyzed=100,
        analysis_fps=10.0,
        layout="single",
        regions=(),
        people=(PersonReport(track=track, metrics=person_metrics(track.samples, CFG)),),
        config=CFG,
    )


def test_synthetic_spans_bridge_blinks_but_not_long_gaps() -> None:
    spans = eaf_spans(_synthetic_report())
    assert spans["P1 eye contact"] == [(0, 5000, "eye contact"), (8000, 10000, "eye contact")]
    assert spans["P1 looking away"] == [(5000, 7000, "looking away")]
    assert spans["P1 arms crossed"] == [(2000, 4000, "arms crossed")]
    assert spans["P1 smiling"] == [(6000, 7000, "smiling"), (8000, 9000, "smiling")]
    assert [(a, b) for a, b, _ in spans["P1 nods"]] == [(1800, 2200), (5800, 6200)]
    assert list(spans) == [tier_id(1, s) for s in SIGNALS]


def test_synthetic_nods_match_the_metrics_count() -> None:
    report = _synthetic_report()
    assert report.people[0].metrics.head.nods == len(eaf_spans(report)["P1 nods"]) == 2


def test_nods_near_the_start_or_close_together_do_not_overlap() -> None:
    spans = nod_spans([Nod(0.1, 5.0), Nod(1.0, 6.25), Nod(1.2, 8.0)])
    assert spans == [
        (0, 300, "nod 5.0 deg"),
        (800, 1100, "nod 6.2 deg"),
        (1100, 1400, "nod 8.0 deg"),
    ]


def test_without_media_nothing_is_linked(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "er" / "s.eaf"
    write_eaf(_synthetic_report(), out, None)
    eaf = pympi.Elan.Eaf(str(out))
    assert eaf.get_linked_files() == []
    assert _annotations(eaf, "P1 looking away") == [(5000, 7000, "looking away")]


def test_an_unwritable_place_is_a_one_line_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError) as err:
        write_eaf(_synthetic_report(), blocker / "s.eaf", None)
    assert "\n" not in str(err.value) and str(blocker / "s.eaf") in str(err.value)
