"""Live practice mode, headless: a real clip played as a camera, overlaid video out, summary
and report that agree with `presence analyze` for the same clip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from analyzer.config import AnalyzerConfig
from analyzer.live.session import LivePerson, kind_cues
from tests.clips import sound, sound_match
from tests.conftest import PROJECT_ROOT, Analyzer, media, models_dir

CLIP = "talking/WDA_KatieHill_000.mp4"  # 8 s, 25 fps, 512x512, a woman talking to the camera


@pytest.fixture(scope="module")
def live_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("live")
    proc = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "webcam_demo.py"),
            "--source",
            str(media(CLIP)),
            "--no-window",
            "--output",
            str(out / "annotated.mp4"),
            "--report",
            str(out / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out,
        env={"PRESENCE_MODELS_DIR": str(models_dir()), "PATH": "/usr/bin:/bin"},
    )
    return proc, out


def _frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(float(f.time or 0.0), f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def test_headless_run_writes_video_summary_and_report(live_run) -> None:  # type: ignore[no-untyped-def]
    proc, out = live_run
    assert proc.returncode == 0, proc.stderr
    assert "Person 1 (center): eye contact" in proc.stdout
    assert "frames analyzed" in proc.stdout
    assert (out / "report" / "report.json").is_file()
    video = _frames(out / "annotated.mp4")
    source = _frames(media(CLIP))
    assert len(video) >= 0.6 * len(source)  # the machine keeps up with most frames
    assert video[-1][0] > 7.0  # and the whole clip was played
    with av.open(str(out / "annotated.mp4")) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and (s.width, s.height) == (512, 512)


def test_live_recording_keeps_the_sound(live_run) -> None:  # type: ignore[no-untyped-def]
    _, out = live_run
    original, recorded = sound(media(CLIP)), sound(out / "annotated.mp4")
    # the clip is played to its end: all of its sound, in step with the picture
    assert recorded.size / 48000 == pytest.approx(original.size / 48000, abs=0.3)
    assert sound_match(original, recorded) > 0.95


def test_overlay_is_drawn_on_the_frames(live_run) -> None:  # type: ignore[no-untyped-def]
    _, out = live_run
    video = _frames(out / "annotated.mp4")
    source = dict(_frames(media(CLIP)))
    t, shown = video[len(video) // 2]
    original = source[min(source, key=lambda k: abs(k - t))].astype(np.int16)
    diff = np.abs(shown.astype(np.int16) - original).mean(axis=2)
    assert diff[10:60, 5:220].mean() > 25  # the indicator and the numbers, top left
    assert np.median(diff[300:500, 20:120]) < 12  # elsewhere only compression noise


def test_live_summary_matches_batch_analysis(live_run, analyzed: Analyzer) -> None:  # type: ignore[no-untyped-def]
    _, out = live_run
    live = json.loads((out / "report" / "report.json").read_text())
    batch = analyzed(CLIP)
    assert len(live["people"]) == len(batch.people) == 1
    lp, bp = live["people"][0], batch.people[0].metrics
    # Tolerances: live analyses ~25 frames/s and drops some, batch 10 frames/s.
    assert lp["eye_contact"]["ratio"] == pytest.approx(bp.eye_contact.ratio, abs=0.1)
    assert lp["face_visible_ratio"] == pytest.approx(bp.face_visible_ratio, abs=0.05)
    assert lp["expressiveness"]["smile_ratio"] == pytest.approx(
        bp.expressiveness.smile_ratio, abs=0.15
    )


def _person(**kw: object) -> LivePerson:
    base: dict[str, object] = dict(
        key=0,
        face_outline_xy=None,
        eyes_xy=None,
        face_width_px=None,
        gaze_yaw_deg=None,
        gaze_pitch_deg=None,
        eye_contact=None,
        eyes_closed=False,
        contact_share=None,
        measured_s=0.0,
        streak_s=0.0,
        away_s=0.0,
        arms_crossed=None,
        openness=None,
        expressiveness=None,
        smile=None,
        cues=(),
    )
    base.update(kw)
    return LivePerson(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"eye_contact": True, "streak_s": 2.0}, ["You're looking at the camera"]),
        (
            {"eye_contact": True, "streak_s": 11.0},
            ["Soften your gaze for a moment - you've held it for 11 s"],
        ),
        ({"eye_contact": False, "away_s": 1.0}, ["Looking away"]),
        (
            {"eye_contact": False, "away_s": 6.0},
            ["You've looked away for a while - come back when you're ready"],
        ),
        ({"eyes_closed": True}, ["Eyes closed"]),
        (
            {"eye_contact": True, "arms_crossed": True},
            [
                "You're looking at the camera",
                "Your arms are crossed - letting them rest open can feel more inviting",
            ],
        ),
    ],
)
def test_cues_are_plain_and_kind(state: dict[str, object], expected: list[str]) -> None:
    assert list(kind_cues(_person(**state), AnalyzerConfig())) == expected
