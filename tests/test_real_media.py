"""The whole pipeline on real people: real MediaPipe models, real media from ../shared/media.

What each check stands on is said beside it: a source label (labels.csv / the Zoom-Behavior
labels), what the clip evidently shows (a person talking to the camera), or our own labels.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from analyzer.config import AnalyzerConfig
from analyzer.errors import NoPersonError
from analyzer.landmarks import LandmarkerOptions, SceneLandmarker
from analyzer.models import ModelPaths
from analyzer.native_logs import divert_native_stderr
from analyzer.pipeline import analyze
from analyzer.types import Position, Region
from analyzer.video import open_source
from tests.clips import write_clip
from tests.conftest import MEDIA, Analyzer, media


def _zoom_labels() -> dict[str, str]:
    with (MEDIA / "labels.csv").open(encoding="utf-8") as f:
        return {
            r["file"]: r["source_label"].split(";")[0].removeprefix("Gaze=")
            for r in csv.DictReader(f)
            if r["file"].startswith("gaze/zoombi_real_")
        }


def test_eye_contact_agrees_with_the_source_labels_on_webcam_photos(analyzed: Analyzer) -> None:
    """27 webcam/vlog frames labelled Camera / Not_Camera / Eyes_Closed by their source.

    Counted over photos with exactly one measured face; photos where the face is not measurable
    (head down over a notebook, eyes shut) are reported, not counted as right or wrong.
    """
    agree = total = unmeasured = 0
    for rel, label in sorted(_zoom_labels().items()):
        if label == "Eyes_Closed":
            continue
        report = analyzed(rel)
        measured = [p for p in report.people if p.track.samples[0].eye_contact is not None]
        if len(measured) != 1:
            unmeasured += 1
            continue
        total += 1
        agree += measured[0].track.samples[0].eye_contact == (label == "Camera")
    assert total >= 19  # most labelled faces are measurable
    assert agree / total >= 0.85, f"{agree}/{total} agree with the source labels"
    assert unmeasured <= 7


def test_closed_eyes_are_not_measurable_rather_than_looking_away(analyzed: Analyzer) -> None:
    person = analyzed("gaze/zoombi_real_026.jpg").people[0]  # source label: Eyes_Closed
    s = person.track.samples[0]
    assert s.face_visible and s.eyes_closed
    assert s.eye_contact is None and s.gaze_yaw_deg is None
    assert person.metrics.eye_contact.coverage == 0.0


def test_couple_photo_she_looks_at_the_camera_he_looks_away(analyzed: Analyzer) -> None:
    report = analyzed("gaze/deepface_couple.jpg")
    assert [p.track.position for p in report.people] == [Position.LEFT, Position.RIGHT]
    left, right = (p.track.samples[0] for p in report.people)
    assert left.eye_contact is True
    assert right.eye_contact is False and right.gaze_yaw_deg is not None
    assert right.gaze_yaw_deg > 20  # he looks off to the viewer's right


@pytest.mark.parametrize("name", ["rtgene_gaze_center.jpg", "rtgene_gaze_left.jpg"])
def test_small_face_is_found_through_the_body(
    analyzed: Analyzer, model_paths: ModelPaths, name: str
) -> None:
    """1920x1080 lab shots with ~60 px faces: the face model alone misses them at full frame."""
    with open_source(media(f"gaze/{name}")) as src, divert_native_stderr():
        frame = next(iter(src.frames()))
        with SceneLandmarker(
            LandmarkerOptions(model_paths, video=False, people_per_region=4),
            (Region(0, 0, 1920, 1080),),
        ) as lm:
            assert lm.observe(frame).faces == ()
    report = analyzed(f"gaze/{name}")
    assert len(report.people) == 1
    s = report.people[0].track.samples[0]
    assert s.face_visible and s.head_yaw_deg is not None


TALKING_TO_CAMERA = [
    # clip, what it shows (labels.csv notes and our own viewing)
    ("talking/liveportrait_d9.mp4", "man with glasses talking to the camera"),
    ("talking/liveportrait_d19.mp4", "man smiling into the camera"),
    ("talking/WDA_AlexandriaOcasioCortez_000.mp4", "woman speaking to the camera"),
    ("talking/tpsmm_driving.mp4", "man talking, face close-up"),
    ("talking/npg_head_stationary.mp4", "man holding still, looking into the lens"),
    ("talking/npg_head_turning.mp4", "man shaking his head while his eyes stay on the lens"),
]


@pytest.mark.parametrize(("rel", "what"), TALKING_TO_CAMERA, ids=[c[0] for c in TALKING_TO_CAMERA])
def test_people_talking_to_the_camera_mostly_make_eye_contact(
    analyzed: Analyzer, rel: str, what: str
) -> None:
    report = analyzed(rel)
    assert len(report.people) == 1, what
    m = report.people[0].metrics
    assert m.face_visible_ratio >= 0.95, what
    # Eye-contact coverage is lower than face visibility by the time the eyes are shut: we
    # looked at the frames npg_head_turning calls closed (0-1.2 s, 4.9-5.4 s) and they are.
    assert m.eye_contact.coverage >= 0.75, what
    assert m.eye_contact.ratio is not None and m.eye_contact.ratio >= 0.8, what


def test_shaking_head_turns_the_head_but_not_the_gaze(analyzed: Analyzer) -> None:
    samples = analyzed("talking/npg_head_turning.mp4").people[0].track.samples
    head = np.array([s.head_yaw_deg for s in samples if s.head_yaw_deg is not None])
    gaze = np.array([s.gaze_yaw_deg for s in samples if s.gaze_yaw_deg is not None])
    assert np.ptp(head) > 20  # the head swings
    assert np.std(gaze) < 0.5 * np.std(head)  # the eyes make up for most of it


def test_two_tile_gallery_gives_two_people_left_and_right(analyzed: Analyzer) -> None:
    report = analyzed("conversation/composite_gallery_2up_hdtf.mp4")
    assert report.layout == "side-by-side"
    assert report.regions == (Region(0, 0, 512, 512), Region(512, 0, 512, 512))
    assert [p.track.position for p in report.people] == [Position.LEFT, Position.RIGHT]
    assert [p.track.region for p in report.people] == list(report.regions)
    for p in report.people:
        assert p.metrics.face_visible_ratio >= 0.95
        assert p.metrics.eye_contact.ratio is not None
    # Each tile is its own camera: the left tile's speaker (talking/WDA_AlexandriaOcasioCortez_000)
    # looks into her camera as much here as in her own clip.
    alone = analyzed("talking/WDA_AlexandriaOcasioCortez_000.mp4").people[0].metrics.eye_contact
    tiled = report.people[0].metrics.eye_contact
    assert tiled.ratio == pytest.approx(alone.ratio, abs=0.1)


def test_split_screen_interview_tiles_sit_inside_the_studio_frame(analyzed: Analyzer) -> None:
    report = analyzed("conversation/vv_interview.mp4")
    assert report.layout == "side-by-side"
    left, right = report.regions
    assert 100 < left.x < 250 and left.x + left.width == right.x
    assert 1050 < right.x + right.width < 1180
    assert len(report.people) == 2
    assert all(p.metrics.face_visible_ratio > 0.9 for p in report.people)


def test_two_people_in_one_room_are_two_people(analyzed: Analyzer) -> None:
    report = analyzed("conversation/vat_demo_two_people_cooking.mp4")
    assert report.layout == "single"
    assert [p.track.position for p in report.people] == [Position.LEFT, Position.RIGHT]
    # The source's head boxes: person 1 (talking, left) and person 2 (cutting, right).
    right = report.people[1].metrics
    assert (
        right.eye_contact.ratio is not None and right.eye_contact.ratio <= 0.2
    )  # eyes on his hands


def test_people_seen_but_not_analyzed_are_counted_in_a_warning(analyzed: Analyzer) -> None:
    # two men side by side, arms crossed (source: face_recognition's two_people.jpg)
    both = analyzed("posture/fr_two_people.jpg")
    assert len(both.people) == 2 and not any("analyzed" in w for w in both.warnings)
    assert both.partners is not None  # two people: the Together section
    one = analyzed("posture/fr_two_people.jpg", AnalyzerConfig(max_people=1))
    assert len(one.people) == 1 and one.partners is None  # no Together section for one
    assert "2 people seen at once, 1 analyzed" in " ".join(one.warnings)


def test_nodding_is_counted_and_a_still_head_has_almost_none(analyzed: Analyzer) -> None:
    """Source file names: head_nodding / head_stationary / head_turning. The nodding clip shows
    a dozen down-up cycles in 9 s (see its pitch trace); we require most of them found and the
    still and shaking heads to stay near zero."""
    nodding = analyzed("talking/npg_head_nodding.mp4").people[0].metrics.head
    still = analyzed("talking/npg_head_stationary.mp4").people[0].metrics.head
    shaking = analyzed("talking/npg_head_turning.mp4").people[0].metrics.head
    assert nodding.nods is not None and nodding.nods >= 8
    assert still.nods is not None and still.nods <= 2
    assert shaking.nods is not None and shaking.nods <= 2


@pytest.mark.parametrize(
    ("rel", "crossed"),
    [
        ("posture/fr_obama_portrait.jpg", [True]),  # labels.csv notes: arms crossed
        ("posture/fr_two_people.jpg", [True, None]),  # both crossed; the right man's elbows
        # leave the frame, so his arms are not measurable (our check; a known weakness)
        ("posture/fr_obama_and_biden.jpg", [False, False]),  # both waving, open
        ("posture/fr_kit_with_rose.jpg", [False, False]),  # arms down
        ("posture/cgd_noclass_01.jpg", [False]),  # arms down
        ("posture/bla_209.jpg", [True]),  # folded arms, waist-up
    ],
)
def test_crossed_arms_on_labelled_photos(analyzed: Analyzer, rel: str, crossed: list) -> None:
    report = analyzed(rel)
    assert [p.track.samples[0].arms_crossed for p in report.people] == crossed


def test_openness_is_lower_with_arms_crossed(analyzed: Analyzer) -> None:
    closed = analyzed("posture/fr_obama_portrait.jpg").people[0].track.samples[0].openness
    waving = [
        p.track.samples[0].openness for p in analyzed("posture/fr_obama_and_biden.jpg").people
    ]
    assert closed is not None and all(o is not None and o > closed + 0.3 for o in waving)


def test_image_gives_one_sample_at_time_zero_and_no_made_up_numbers(analyzed: Analyzer) -> None:
    report = analyzed("gaze/deepface_couple.jpg")
    for p in report.people:
        assert [s.time_s for s in p.track.samples] == [0.0]
        assert p.metrics.expressiveness.score is None  # no neutral face to compare with
        assert p.metrics.head.nods is None  # no nods in a still
        assert p.metrics.posture.arms_crossed_ratio is None  # arms out of the picture
        assert p.metrics.posture.coverage == 0.0


def test_video_without_people_is_a_clear_error(tmp_path: Path, model_paths: ModelPaths) -> None:
    rng = np.random.default_rng(3)
    frames = [np.clip(rng.normal(120, 30, (120, 160, 3)), 0, 255).astype(np.uint8)] * 20
    path = write_clip(tmp_path / "empty_room.mp4", frames)
    with pytest.raises(NoPersonError, match="no person found"), divert_native_stderr():
        analyze(path, model_paths, AnalyzerConfig())


def test_analysis_timestamps_follow_the_analysis_rate(analyzed: Analyzer) -> None:
    report = analyzed("talking/liveportrait_d13.mp4", AnalyzerConfig(analysis_fps=5.0))
    t = [s.time_s for s in report.people[0].track.samples]
    assert report.frames_analyzed == len(t)
    assert len(t) == pytest.approx(11.7 * 5, abs=2)
    assert np.median(np.diff(t)) == pytest.approx(0.2, abs=0.01)
