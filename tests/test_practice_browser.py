"""The browser practice page end to end: headless Chromium whose camera is a real clip
(--use-file-for-fake-video-capture), the real server, the real models.

Needs Debian's chromium (/usr/bin/chromium; .ci/run installs it) and the playwright package
(its own browser download is not used)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.apiserver import Server
from tests.clips import write_y4m
from tests.conftest import media

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# liveportrait d14: a woman who looks into the camera, then glances aside, then back
CLIP = "talking/liveportrait_d14.mp4"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("practice") / "data")
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_y4m(
        media(CLIP), tmp_path_factory.mktemp("cam") / "camera.y4m", size=360, fps=15, seconds=10.0
    )


def _browser(p, camera_file: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    return p.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera_file}",
        ],
    )


def test_practice_page_shows_live_feedback(
    server: Server, camera_file: Path, tmp_path: Path
) -> None:
    key = server.new_key("practice")
    with sync_playwright() as p:
        browser = _browser(p, camera_file)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{server.url}/practice#key={key}")
        indicator = page.locator("#indicator")
        page.wait_for_function(
            "document.getElementById('share').textContent !== '-'", timeout=60_000
        )
        shares, states = set(), set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            shares.add(page.locator("#share").text_content())
            states.add(indicator.text_content())
            time.sleep(0.25)
        page.screenshot(path=str(tmp_path / "practice.png"))
        Path("/tmp/presence-practice.png").write_bytes((tmp_path / "practice.png").read_bytes())
        assert "You're looking at the camera" in states
        assert len(shares) >= 3, f"the running eye-contact number did not move: {shares}"
        assert page.evaluate("localStorage.getItem('presenceKey')") == key
        assert not page.locator("#keyform").is_visible()  # the key came with the link
        assert "#key" not in page.url  # the key does not linger in the address bar
        assert errors == []
        assert all(u.startswith(server.url) or u.startswith(("data:", "blob:")) for u in requests)
        # a phone-sized screen: the panel goes under the video and nothing overflows
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(500)
        stage = page.locator(".stage").bounding_box()
        panel = page.locator("#indicator").bounding_box()
        assert stage is not None and panel is not None
        assert panel["y"] >= stage["y"] + stage["height"] - 1
        assert stage["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path="/tmp/presence-practice-phone.png")
        browser.close()


def test_practice_refuses_a_wrong_key(server: Server, camera_file: Path) -> None:
    with sync_playwright() as p:
        browser = _browser(p, camera_file)
        page = browser.new_page()
        page.goto(f"{server.url}/practice#key=prs_not-a-real-key")
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('not accepted')", timeout=30_000
        )
        assert page.locator("#keyform").is_visible()
        browser.close()


@pytest.fixture(scope="module")
def steady_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A person who keeps looking into the camera (a still head)."""
    return write_y4m(
        media("talking/npg_head_stationary.mp4"),
        tmp_path_factory.mktemp("steady") / "camera.y4m",
        size=360,
        fps=15,
        seconds=14.0,
    )


def _calibrate_on_page(page, server: Server, key: str) -> str:  # type: ignore[no-untyped-def]
    """Open the page, press Calibrate, wait for the end; what the page then says."""
    page.goto(f"{server.url}/practice#key={key}")
    page.wait_for_function("document.getElementById('share').textContent !== '-'", timeout=60_000)
    assert page.locator("#calstate").text_content() == "Not calibrated."
    page.locator("#calibrate").click()
    page.wait_for_function("!document.getElementById('prompt').hidden", timeout=10_000)
    first = page.locator("#prompt").text_content() or ""
    assert first.startswith("Calibrating: look into the camera lens")
    page.wait_for_function("!document.getElementById('calibrate').disabled", timeout=40_000)
    assert page.locator("#prompt").is_hidden()
    return page.locator("#calstate").text_content() or ""


def test_a_wandering_gaze_is_told_and_nothing_is_kept(server: Server, camera_file: Path) -> None:
    """The camera clip's face keeps moving (an expressive talking head): the calibration says
    why it did not work, in one line, and keeps nothing."""
    with sync_playwright() as p:
        browser = _browser(p, camera_file)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        state = _calibrate_on_page(page, server, server.new_key("wandering"))
        assert state.startswith("calibration: the gaze moved too much"), state
        assert page.evaluate("localStorage.getItem('presenceCalibration')") is None
        assert page.locator("#caldownload").is_hidden()
        browser.close()


def test_the_page_calibrates_in_ten_seconds_and_keeps_it(
    server: Server, steady_camera: Path, tmp_path: Path
) -> None:
    with sync_playwright() as p:
        browser = _browser(p, steady_camera)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        state = _calibrate_on_page(page, server, server.new_key("calibration"))
        assert state.startswith("Calibrated ("), state
        page.screenshot(path=str(tmp_path / "calibrated.png"))
        Path("/tmp/presence-practice-calibrated.png").write_bytes(
            (tmp_path / "calibrated.png").read_bytes()
        )
        saved = page.evaluate("JSON.parse(localStorage.getItem('presenceCalibration'))")
        assert saved["format"] == "presence-calibration/1"
        link = page.locator("#caldownload")
        assert link.is_visible()
        assert (link.get_attribute("href") or "").startswith("data:application/json,")
        # a new visit practises with it: the hello brings it back
        page.reload()
        page.wait_for_function(
            "document.getElementById('share').textContent !== '-'", timeout=60_000
        )
        assert (page.locator("#calstate").text_content() or "").startswith("Calibrated (")
        assert errors == []
        browser.close()
