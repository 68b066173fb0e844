"""The moments reel (`presence analyze --reel`): the call's moments of connection one after
another, both partners visible, with the call's sound and a caption; none when there are no
moments, and the summary says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from analyzer.outputs.reel import AFTER_S, BEFORE_S, FPS, REEL_MAX_S
from tests.calls import render_call, standard_calls
from tests.clips import sound, sound_match
from tests.conftest import MEDIA, media, models_dir

# FaceTime on a phone: the partner full screen, the self view inset; they smile at each other
# for about two seconds (tests/calls.py)
SPEC = next(c for c in standard_calls() if c.name == "facetime_portrait")


def _analyze(path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", "analyze", str(path), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PRESENCE_MODELS_DIR": str(models_dir())},
    )


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("reel")
    path = d / "call.mp4"
    render_call(SPEC, path, MEDIA)
    proc = _analyze(path, d / "call.presence", "--reel", "-q")
    assert proc.returncode == 0, proc.stderr
    return path, d / "call.presence"


def _frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(float(f.time or 0.0), f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


@pytest.mark.slow
def test_reel_shows_each_moment_with_a_little_around_it(call: tuple[Path, Path]) -> None:
    _, out = call
    report = json.loads((out / "report.json").read_text())
    moments = report["partners"]["moments_of_connection"]
    assert moments, "the test call has a moment of connection"
    with av.open(str(out / "reel.mp4")) as c:
        video = c.streams.video[0]
        assert video.codec_context.name == "h264"
        length = float(video.duration * video.time_base)
    expected = sum(
        min(m["end_s"] + AFTER_S, SPEC.seconds) - max(0.0, m["start_s"] - BEFORE_S) for m in moments
    )
    assert length == pytest.approx(expected, abs=2 / FPS)
    assert length <= REEL_MAX_S + 1


@pytest.mark.slow
def test_reel_keeps_the_sound_of_those_moments(call: tuple[Path, Path]) -> None:
    path, out = call
    m = json.loads((out / "report.json").read_text())["partners"]["moments_of_connection"][0]
    start = max(0.0, m["start_s"] - BEFORE_S)
    reel = sound(out / "reel.mp4")
    original = sound(path)[int(start * 48000) :]
    assert reel.size / 48000 == pytest.approx(
        min(m["end_s"] + AFTER_S, SPEC.seconds) - start, abs=0.1
    )
    assert sound_match(original, reel) > 0.95


@pytest.mark.slow
def test_reel_shows_both_partners_and_a_caption(call: tuple[Path, Path]) -> None:
    path, out = call
    m = json.loads((out / "report.json").read_text())["partners"]["moments_of_connection"][0]
    start = max(0.0, m["start_s"] - BEFORE_S)
    reel = _frames(out / "reel.mp4")
    t, shown = reel[len(reel) // 2]  # the middle of the excerpt: no fade
    source = _frames(path)
    _, original = min(source, key=lambda f: abs(f[0] - (start + t)))
    h, w = shown.shape[:2]
    import cv2

    original = cv2.resize(original, (w, h), interpolation=cv2.INTER_AREA)
    diff = np.abs(shown.astype(np.int16) - original.astype(np.int16)).mean(axis=2)
    scale = w / SPEC.size[0]
    for tile in SPEC.scenes[0].tiles:  # the main picture and the inset, as in the call
        x, y, tw, th = (round(v * scale) for v in tile.rect)
        inside = diff[y : y + th, x : x + tw]
        inside = inside[: max(1, inside.shape[0] - round(80 * scale))]  # above the caption
        assert np.median(inside) < 8, tile.rect
    # the caption: a dark box with light text at the bottom left
    box = shown[h - round(60 * scale) : h - 4, 8 : w // 2].astype(np.float32)
    assert box.mean() < original[h - round(60 * scale) : h - 4, 8 : w // 2].mean()
    assert (box.max(axis=2) > 200).mean() > 0.02  # the letters


def test_no_moments_no_reel_and_the_summary_says_why(tmp_path: Path) -> None:
    # two strangers in a recorded gallery: never both warm at once
    two = _analyze(media("conversation/composite_gallery_2up_hdtf.mp4"), tmp_path / "two", "--reel")
    assert two.returncode == 0, two.stderr
    assert "no reel: no moments of connection were found" in two.stdout
    assert not (tmp_path / "two" / "reel.mp4").exists()
    report = json.loads((tmp_path / "two" / "report.json").read_text())
    assert report["partners"]["moments_of_connection"] == []
    assert any(w.startswith("no reel:") for w in report["warnings"])
    # one person: a reel is for two
    one = _analyze(media("talking/WDA_KatieHill_000.mp4"), tmp_path / "one", "--reel")
    assert one.returncode == 0, one.stderr
    assert "no reel: the moments reel is for two people together" in one.stdout
    assert not (tmp_path / "one" / "reel.mp4").exists()
