"""Eye-contact calibration: the arithmetic on synthetic gazes, the file, and the live routine
run headless on a real clip played as a camera, reused by the batch analysis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analyzer.calibration import (
    FORMAT,
    PHASES,
    SETTLE_S,
    Calibration,
    CalibrationError,
    CalibrationRun,
    apply,
    calibrate,
    load,
    save,
)
from analyzer.config import AnalyzerConfig
from analyzer.signals.gaze import gaze
from tests.builders import face
from tests.conftest import media, models_dir

CLIP = "talking/npg_head_stationary.mp4"  # 16 s, a still head looking into the camera


def _around(
    yaw: float, pitch: float, n: int = 30, spread: float = 1.0
) -> list[tuple[float, float]]:
    rng = np.random.default_rng(0)
    return [(yaw + rng.normal(0, spread), pitch + rng.normal(0, spread)) for _ in range(n)]


def test_the_lens_gaze_is_the_offset_and_the_screen_is_placed_from_it() -> None:
    cal = calibrate(_around(1.0, -6.0), _around(2.0, -20.0))
    assert cal.lens_pitch_deg == pytest.approx(-6.0, abs=0.5)
    assert cal.lens_yaw_deg == pytest.approx(1.0, abs=0.5)
    assert cal.screen_pitch_deg == pytest.approx(-14.0, abs=0.7)  # 14 deg below the lens
    far = cal.screen_from_lens_deg()
    assert far is not None and 13.0 < far < 15.5
    assert cal.screen_is_camera(16.0) is True  # inside the tolerance: cannot be told apart
    assert cal.screen_is_camera(10.0) is False


def test_the_offset_is_taken_off_every_gaze() -> None:
    cal = Calibration(lens_yaw_deg=2.0, lens_pitch_deg=-7.0, lens_spread_deg=1.0, frames=30)
    cfg = apply(AnalyzerConfig(), cal)
    assert cfg.gaze.calibration_pitch_deg == -7.0
    plain = gaze(face(), AnalyzerConfig().gaze)
    corrected = gaze(face(), cfg.gaze)
    assert plain is not None and corrected is not None
    assert corrected.pitch_deg == pytest.approx(plain.pitch_deg + 7.0)
    assert corrected.yaw_deg == pytest.approx(plain.yaw_deg)  # only the vertical offset


@pytest.mark.parametrize(
    ("lens", "message"),
    [
        (_around(0, 0, n=5), "measured in 5 frame"),
        (_around(0, 0, spread=12.0), "moved too much"),
        (_around(14, -14), "from the lens"),
    ],
)
def test_a_calibration_that_did_not_happen_says_why(
    lens: list[tuple[float, float]], message: str
) -> None:
    with pytest.raises(CalibrationError, match=message):
        calibrate(lens)


def test_the_screen_phase_is_optional() -> None:
    cal = calibrate(_around(0, -3), _around(0, -20, n=3))
    assert cal.screen_pitch_deg is None and cal.screen_from_lens_deg() is None


def test_the_file_round_trips_and_bad_files_are_refused(tmp_path: Path) -> None:
    cal = calibrate(_around(1.0, -6.0), _around(2.0, -20.0))
    path = tmp_path / "me.json"
    save(cal, path)
    assert json.loads(path.read_text())["format"] == FORMAT
    assert load(path) == cal
    for text, message in [
        ("{", "not JSON"),
        ('{"format": "other"}', "no 'presence-calibration/1' format"),
        (json.dumps({"format": FORMAT, "lens_pitch_deg": 1}), "missing or bad values"),
        (
            json.dumps(
                {
                    "format": FORMAT,
                    "lens_yaw_deg": 0,
                    "lens_pitch_deg": 40,
                    "lens_spread_deg": 1,
                    "frames": 30,
                }
            ),
            "out of range",
        ),
    ]:
        path.write_text(text)
        with pytest.raises(CalibrationError, match=message):
            load(path)
    with pytest.raises(CalibrationError, match="cannot read"):
        load(tmp_path / "missing.json")


def test_the_routine_asks_in_turn_and_skips_the_settling() -> None:
    run = CalibrationRun()
    prompts = []
    t = 0.0
    while (prompt := run.push(t, (0.5, -4.0 if t < PHASES[0][2] else -18.0))) is not None:
        prompts.append(prompt)
        t += 0.1
    assert prompts[0].startswith(PHASES[0][1]) and prompts[-1].startswith(PHASES[1][1])
    assert t == pytest.approx(sum(p[2] for p in PHASES), abs=0.11)
    cal = run.result()
    assert cal.lens_pitch_deg == pytest.approx(-4.0)
    assert cal.frames == pytest.approx((PHASES[0][2] - SETTLE_S) / 0.1, abs=1)
    assert cal.screen_pitch_deg == pytest.approx(-14.0)


def _presence(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PRESENCE_MODELS_DIR": str(models_dir()), "PATH": "/usr/bin:/bin"},
    )


def test_live_calibration_on_a_real_clip_is_saved_and_reused_by_analyze(tmp_path: Path) -> None:
    """A clip played as the camera: the first 10 s are the calibration (the person looks into
    the camera the whole time, so the screen comes out where the lens is), then 3 s of practice
    with the offset taken off; the saved file then drives a batch analysis."""
    cal_path = tmp_path / "me.json"
    live = _presence(
        "live",
        "--source",
        str(media(CLIP)),
        "--no-window",
        "--calibrate",
        "--calibration-file",
        str(cal_path),
        "--seconds",
        "3",
        "--report",
        str(tmp_path / "live"),
        cwd=tmp_path,
    )
    assert live.returncode == 0, live.stderr[-2000:]
    assert "calibrated: your gaze reads" in live.stderr
    cal = load(cal_path)
    assert cal.frames >= 20 and cal.lens_spread_deg < 6.0
    report = json.loads((tmp_path / "live" / "report.json").read_text())
    assert report["settings"]["gaze"]["calibration_pitch_deg"] == cal.lens_pitch_deg
    batch = _presence(
        "analyze",
        str(media(CLIP)),
        "--calibration",
        str(cal_path),
        "--out",
        "out",
        "-q",
        cwd=tmp_path,
    )
    assert batch.returncode == 0, batch.stderr[-2000:]
    settings = json.loads((tmp_path / "out" / "report.json").read_text())["settings"]
    assert settings["gaze"]["calibration_pitch_deg"] == cal.lens_pitch_deg
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    refused = _presence(
        "analyze", str(media(CLIP)), "--calibration", str(bad), "--out", "o2", cwd=tmp_path
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"presence: error: {bad}: not a calibration file (not JSON)"
    ]


def test_what_is_kept_is_what_was_checked(tmp_path: Path) -> None:
    """An offset just under the limit that rounds over it is refused when made, not later
    when read back (the browser keeps what the server made and sends it with each hello)."""
    with pytest.raises(CalibrationError, match="from the lens"):
        calibrate([(10.6065, 10.6065)] * 10)
    cal = calibrate([(0.0, -10.5)] * 10)
    path = tmp_path / "c.json"
    save(cal, path)
    assert load(path) == cal
    advice = cal.advice(16.0)
    assert advice is not None and "calibrate again" in advice  # 10.5 deg: suspicious, said


def test_a_deeply_nested_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 30_000 + "]" * 30_000)  # under the size limit, too deep to parse
    with pytest.raises(CalibrationError, match="not JSON"):
        load(path)
