"""report.html, annotated.mp4 and the ELAN file from `presence analyze` on a real clip; the HTML
rendered in headless Chromium (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from tests.clips import sound, sound_match
from tests.conftest import media, models_dir

# 17.5 s, 25 fps, 1280x720, a two-tile TV interview: two people, long held gazes, nods
CLIP = "conversation/vv_interview.mp4"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outputs") / "vv.presence"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer.cli",
            "analyze",
            str(media(CLIP)),
            "--out",
            str(out),
            "--annotate",
            "--format",
            "eaf",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PRESENCE_MODELS_DIR": str(models_dir())},
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_all_outputs_are_written(outputs: Path) -> None:
    assert sorted(p.name for p in outputs.iterdir()) == [
        "annotated.mp4",
        "report.html",
        "report.json",
        "timeline.csv",
        "vv_interview.eaf",
    ]


def test_report_html_renders_offline_with_charts(outputs: Path, tmp_path: Path) -> None:
    html = (outputs / "report.html").read_text()
    assert "<script src=" not in html and "<link rel='stylesheet'" not in html  # all inlined
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((outputs / "report.html").as_uri())
        page.wait_for_selector("#timelines .main-svg")
        titles = page.locator(
            "#timelines .g-gtitle, #timelines .annotation-text"
        ).all_text_contents()
        assert any("Eye contact" in t for t in titles) and any("Head pitch" in t for t in titles)
        assert page.locator("#timelines .scatterlayer .trace").count() >= 7  # lines drawn
        box = page.locator("#timelines .nsewdrag").first.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(300)
        assert page.locator("#timelines .hoverlayer *").count() > 0  # hovering shows values
        cards = page.locator(".card")
        assert cards.count() == 2 and "Eye contact" in cards.first.text_content()
        pictures = page.locator("#moments ~ table img")
        assert pictures.count() >= 1  # moments worth a look, with a picture
        assert pictures.first.get_attribute("src").startswith("data:image/jpeg;base64,")
        assert errors == []
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        shutil.copy(tmp_path / "report.png", "/tmp/presence-report.png")
        page.emulate_media(media="print")  # the print layout hides the chart toolbar
        assert page.locator(".modebar").first.is_hidden()
        browser.close()


def _frames(path: Path) -> tuple[list[np.ndarray], list[float], tuple[int, int]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        size = (s.codec_context.width, s.codec_context.height)
        frames, times = [], []
        for f in c.decode(s):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time or 0.0))
    return frames, times, size


def test_annotated_video_matches_the_input_and_shows_the_overlay(outputs: Path) -> None:
    out, out_t, out_size = _frames(outputs / "annotated.mp4")
    src, src_t, src_size = _frames(media(CLIP))
    assert out_size == src_size
    assert len(out) == len(src)
    assert out_t[-1] == pytest.approx(src_t[-1], abs=0.05)
    with av.open(str(outputs / "annotated.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"
    k = len(src) // 2
    diff = np.abs(out[k].astype(np.int16) - src[k].astype(np.int16)).mean(axis=2)
    # each of the two is labelled at their own face (not in a banner in the corner)
    with (outputs / "timeline.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["face_x_px"]]
    for person in ("1", "2"):
        row = min(
            (r for r in rows if r["person"] == person),
            key=lambda r: abs(float(r["time_s"]) - src_t[k]),
        )
        x, y = round(float(row["face_x_px"])), round(float(row["face_y_px"]))
        below = diff[y + 60 : y + 320, max(0, x - 200) : x + 200]
        assert (below > 40).mean() > 0.04, person  # the label's box and text
    assert (diff[8:52, 6:100] > 40).mean() < 0.05  # no banner top left
    assert np.median(diff[600:700, 1150:1270]) < 10  # untouched corner: compression noise


def test_annotated_video_keeps_the_sound(outputs: Path) -> None:
    original, annotated = sound(media(CLIP)), sound(outputs / "annotated.mp4")
    assert annotated.size / 48000 == pytest.approx(original.size / 48000, abs=0.15)
    assert sound_match(original, annotated) > 0.95
