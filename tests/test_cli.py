"""The ``presence`` command as a user runs it: outputs, summary, and one-line errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.report import TIMELINE_COLUMNS
from analyzer.report_schema import SCHEMA_VERSION, Report
from tests.conftest import PROJECT_ROOT, media, models_dir

CLIP_SHORT = "talking/liveportrait_d0.mp4"  # 3 s


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PRESENCE_MODELS_DIR": str(models_dir()), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", *args],
        cwd=cwd,
        env=full_env,
        text=True,
        capture_output=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def couple_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    cwd = tmp_path_factory.mktemp("cli")
    return run("analyze", str(media("gaze/deepface_couple.jpg")), cwd=cwd), cwd


def test_analyze_writes_report_and_timeline_in_default_folder(couple_run) -> None:  # type: ignore[no-untyped-def]
    proc, cwd = couple_run
    assert proc.returncode == 0, proc.stderr
    out = cwd / "deepface_couple.presence"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "timeline.csv"]
    report = Report.model_validate(json.loads((out / "report.json").read_text()))
    assert report.schema_version == SCHEMA_VERSION
    assert report.video.kind == "image" and report.video.frames_analyzed == 1
    assert [p.position for p in report.people] == ["left", "right"]
    rows = list(csv.DictReader((out / "timeline.csv").read_text().splitlines()))
    assert tuple(rows[0].keys()) == TIMELINE_COLUMNS
    assert [(r["time_s"], r["person"]) for r in rows] == [("0.000", "1"), ("0.000", "2")]
    assert {r["eye_contact"] for r in rows} == {"1", "0"}
    assert rows[0]["arms_crossed"] == ""  # arms not in the picture: empty, not 0


def test_summary_on_stdout_and_nothing_else_on_stderr(couple_run) -> None:  # type: ignore[no-untyped-def]
    proc, _ = couple_run
    assert "Person 1 (left)" in proc.stdout and "Person 2 (right)" in proc.stdout
    assert proc.stderr == ""  # MediaPipe's own log lines are kept off the terminal


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "code", "message"),
    [
        (lambda d: d / "nope.mp4", 2, "no such file"),
        (lambda d: _write(d / "empty.mp4", b""), 2, "empty"),
        (
            lambda d: _write(d / "notes.txt", b"dear diary\n" * 100),
            2,
            "not a readable image or video",
        ),
        (
            lambda d: _write(
                d / "cut.mp4", media("talking/liveportrait_d13.mp4").read_bytes()[:50000]
            ),
            2,
            "the recording is incomplete: its index",
        ),
    ],
    ids=["missing", "zero-bytes", "text-file", "truncated-mp4"],
)
def test_bad_input_one_line_error_and_no_output(
    tmp_path: Path, make, code: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    proc = run("analyze", str(path), cwd=tmp_path)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("presence: error:") and message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.presence")) and not list(tmp_path.glob(".*.tmp"))


def test_refuses_to_replace_a_folder_that_is_not_ours(tmp_path: Path) -> None:
    precious = tmp_path / "holiday"
    precious.mkdir()
    (precious / "photo.jpg").write_bytes(b"memories")
    proc = run(
        "analyze", str(media("gaze/zoombi_real_021.jpg")), "--out", str(precious), cwd=tmp_path
    )
    assert proc.returncode == 5
    assert "not a Presence output" in proc.stderr
    assert (precious / "photo.jpg").read_bytes() == b"memories"


def test_rerun_replaces_an_earlier_output(tmp_path: Path) -> None:
    out = tmp_path / "o"
    for _ in range(2):
        proc = run(
            "analyze", str(media("gaze/zoombi_real_021.jpg")), "--out", str(out), "-q", cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_missing_models_folder_is_one_clear_line(tmp_path: Path) -> None:
    proc = run(
        "analyze",
        str(media("gaze/zoombi_real_021.jpg")),
        cwd=tmp_path,
        env={"PRESENCE_MODELS_DIR": str(tmp_path / "no-models")},
    )
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "face_landmarker.task not found" in proc.stderr


def test_bad_option_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("analyze", str(media("gaze/zoombi_real_021.jpg")), "--fps", "-3", cwd=tmp_path)
    assert proc.returncode == 2
    assert "argument --fps: must be from 0.5 to 60, got -3" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "x.mp4", "--fps", "1000"],
        ["analyze", "x.mp4", "--fps", "0.01"],
        ["analyze", "x.mp4", "--fps", "nan"],
        ["analyze", "x.mp4", "--max-people", "10"],
        ["analyze", "x.mp4", "--pose-every", "0"],
        ["analyze", "x.mp4", "--eye-contact-tolerance-deg", "200"],
        ["analyze", "x.mp4", "--staring-s", "-1"],
        ["analyze", "x.mp4", "--look-away-s", "inf"],
        ["live", "--people", "9"],
        ["live", "--seconds", "0"],
        ["serve", "--port", "70000"],
    ],
)
def test_every_option_is_range_checked_in_one_line(tmp_path: Path, args: list[str]) -> None:
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "must be from" in proc.stderr and "--help" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_live_without_a_display_says_to_use_no_window(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer.cli", "live", "--source", str(media(CLIP_SHORT))],
        cwd=tmp_path,
        env={**env, "PRESENCE_MODELS_DIR": str(models_dir())},
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "presence: error: no display to show the practice window on; use --no-window with "
        "--output (an overlaid video) or --report"
    ]


def test_models_list(tmp_path: Path) -> None:
    proc = run("models", "list", cwd=tmp_path)
    assert proc.returncode == 0
    assert "face_landmarker.task: present" in proc.stdout
    assert "pose_landmarker_full.task: present" in proc.stdout


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("presence")
    assert exe.exists(), "pip install -e . should install the presence command"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("presence ")
