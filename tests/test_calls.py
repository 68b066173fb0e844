"""Call recordings laid out the way the apps lay them out (tests/calls.py builds them from real
clips in ../shared/media), each run through `presence analyze` with default settings: exactly
the two partners, named by where they are, followed through swaps, camera-off stretches and
changes of layout, never said to be in one room, and their faces measured."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from analyzer.cli import main
from tests.calls import CallSpec, CallTruth, Rect, render_call, standard_calls
from tests.conftest import MEDIA, models_dir

CALLS = standard_calls()


@dataclass(frozen=True)
class Analyzed:
    spec: CallSpec
    path: Path
    truth: CallTruth
    report: dict  # type: ignore[type-arg]
    rows: list[dict[str, str]]


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Analyzed]:
    """Each call rendered and analyzed once (on first use)."""
    return {}


def _run(spec: CallSpec, cache: dict[str, Analyzed], tmp: Path) -> Analyzed:
    if spec.name not in cache:
        path = tmp / f"{spec.name}.mp4"
        truth = render_call(spec, path, MEDIA)
        out = tmp / f"{spec.name}.presence"
        code = main(
            ["analyze", str(path), "--out", str(out), "-q", "--models-dir", str(models_dir())]
        )
        assert code == 0
        report = json.loads((out / "report.json").read_text())
        with (out / "timeline.csv").open() as f:
            rows = list(csv.DictReader(f))
        cache[spec.name] = Analyzed(spec, path, truth, report, rows)
    return cache[spec.name]


def _inside(rect: Rect | None, x: float, y: float) -> bool:
    return (
        rect is not None and rect[0] <= x < rect[0] + rect[2] and rect[1] <= y < rect[1] + rect[3]
    )


def _whose(truth: CallTruth, t: float, x: float, y: float) -> int | None:
    """The partner whose picture a point is in at time t (an inset lies over the main picture:
    the smaller picture wins)."""
    rects = {k: truth.rect_at(k, t) for k in (0, 1)}
    inside = [k for k, r in rects.items() if r is not None and _inside(r, x, y)]
    return min(inside, key=lambda k: rects[k][2] * rects[k][3], default=None)  # type: ignore[index]


def _partner_of(a: Analyzed, person: int) -> tuple[int, float]:
    """Which partner a person of the report is (by where their face was, frame by frame), and
    the share of their located frames that lie in that partner's picture."""
    placed = [
        (float(r["time_s"]), float(r["face_x_px"]), float(r["face_y_px"]))
        for r in a.rows
        if int(r["person"]) == person and r["face_x_px"]
    ]
    assert placed, f"person {person} is never located"
    whose = [_whose(a.truth, t, x, y) for t, x, y in placed]
    shares = [sum(w == k for w in whose) / len(placed) for k in (0, 1)]
    best = max((0, 1), key=lambda k: shares[k])
    return best, shares[best]


@pytest.mark.slow
@pytest.mark.parametrize("spec", CALLS, ids=[c.name for c in CALLS])
def test_call_is_read_as_two_partners(
    spec: CallSpec, analyzed: dict[str, Analyzed], tmp_path_factory: pytest.TempPathFactory
) -> None:
    a = _run(spec, analyzed, tmp_path_factory.mktemp(spec.name))
    r = a.report
    people = r["people"]
    assert [p["id"] for p in people] == [1, 2], r["warnings"]
    # a call: each has their own camera, never one room
    assert r["partners"] is not None and r["partners"]["same_room"] is False, r["warnings"]
    # each person is one partner the whole time, through swaps and changes of layout
    partners = {}
    for p in people:
        k, share = _partner_of(a, p["id"])
        assert share >= 0.97, f"person {p['id']} is partner {k} in only {share:.0%} of frames"
        partners[p["id"]] = k
    assert sorted(partners.values()) == [0, 1]
    # named by where they are
    for p in people:
        assert p["position"] == spec.expected_positions[partners[p["id"]]]
    # nobody empty, and each face measured while their camera is on
    for p in people:
        k = partners[p["id"]]
        on = [
            row
            for row in a.rows
            if int(row["person"]) == p["id"] and a.truth.rect_at(k, float(row["time_s"]))
        ]
        seen = sum(row["face_visible"] == "1" for row in on) / len(on)
        assert seen >= 0.9, f"person {p['id']}: face found in {seen:.0%} of camera-on frames"
        off = [
            row
            for row in a.rows
            if int(row["person"]) == p["id"] and not a.truth.rect_at(k, float(row["time_s"]))
        ]
        assert not any(row["face_visible"] == "1" for row in off)


@pytest.mark.slow
@pytest.mark.parametrize("spec", CALLS, ids=[c.name for c in CALLS])
def test_call_layout_and_its_changes(
    spec: CallSpec, analyzed: dict[str, Analyzed], tmp_path_factory: pytest.TempPathFactory
) -> None:
    a = _run(spec, analyzed, tmp_path_factory.mktemp(spec.name))
    spans = a.report["layout"]["spans"]
    starts = [sp["start_s"] for sp in spans]
    # every change of the pictures is found, at the cut; a camera that goes off may or may not
    # make one (its tile can stay analyzed, empty, while the camera is off)
    needed = [t for t, _ in spec.expected_spans(cards_count=True)]
    possible = [t for t, _ in spec.expected_spans()] + needed
    for t in needed[1:]:
        assert any(abs(t - s) <= 0.5 for s in starts), (t, starts)
    for s in starts[1:]:
        assert any(abs(t - s) <= 0.5 for t in possible), (s, possible)
    for sp in spans:  # each stretch named as the app laid it out
        end = sp["end_s"] if sp["end_s"] is not None else spec.seconds
        assert sp["kind"] == spec.kind_at((sp["start_s"] + end) / 2), spans
    expected = spec.expected_spans()
    kinds = {k for _, k in expected}
    assert a.report["layout"]["kind"] in kinds
    # the analyzed tiles of every stretch are pictures of the partners, nothing else
    for s in spans:
        assert len(s["tiles"]) in (1, 2)


def test_generated_calls_carry_the_partners_voices(tmp_path: Path) -> None:
    spec = CALLS[0]
    path = tmp_path / "call.mp4"
    render_call(CallSpec(spec.name, spec.size, spec.scenes, seconds=2.0), path, MEDIA)
    with av.open(str(path)) as c:
        assert c.streams.audio and c.streams.video
        audio = c.streams.audio[0]
        assert audio.codec_context.name == "aac" and audio.duration is not None
        assert float(audio.duration * audio.time_base) == pytest.approx(2.0, abs=0.1)
