"""The pre-scan's reading of a layout over time, on synthetic screens: which moments are
misreadings and which are short changes of layout, and what a layout read without confidence
does to the partners' report."""

from __future__ import annotations

import numpy as np

from analyzer.config import PartnerConfig
from analyzer.layout import Screen, Tile
from analyzer.partners import analyze_partners
from analyzer.scene import _Run, _settle
from analyzer.types import PersonSample, Region

W, H = 1280, 720
LEFT, RIGHT = Region(10, 184, 626, 352), Region(644, 184, 626, 352)
FULL, INSET = Region(0, 0, W, H), Region(980, 544, 300, 176)
GALLERY = Screen(W, H, (Tile(LEFT), Tile(RIGHT)), background_rgb=(26, 26, 26))
ONE_OFF = Screen(W, H, (Tile(LEFT),), background_rgb=(26, 26, 26))  # a camera turned off
SPEAKER = Screen(W, H, (Tile(FULL), Tile(INSET, inset=True, parent=FULL)))
NO_INSET = Screen(W, H, (Tile(FULL),))  # the inset missed


def _runs(*screens: Screen) -> list[_Run]:
    runs: list[_Run] = []
    for t, s in enumerate(screens):
        if runs and runs[-1].screen.same_as(s):
            runs[-1].times_ms.append(t * 2000)
        else:
            runs.append(_Run(s, [t * 2000], []))
    return runs


def test_a_missed_inset_is_a_misreading() -> None:
    runs = _runs(SPEAKER, SPEAKER, NO_INSET, SPEAKER, SPEAKER)
    assert _settle(runs) == 1
    # one run; the misread moment does not mark where it begins or ends
    assert len(runs) == 1 and runs[0].times_ms == [0, 2000, 6000, 8000]


def test_a_short_speaker_view_is_a_change_of_layout() -> None:
    runs = _runs(GALLERY, GALLERY, SPEAKER, GALLERY, GALLERY)
    assert _settle(runs) == 0
    assert [r.screen for r in runs] == [GALLERY, SPEAKER, GALLERY]


def test_a_tile_that_goes_on_a_background_is_a_camera_turned_off() -> None:
    runs = _runs(GALLERY, GALLERY, ONE_OFF, GALLERY, GALLERY)
    assert _settle(runs) == 0
    assert [len(r.screen.tiles) for r in runs] == [2, 1, 2]


def test_misreadings_at_both_ends_and_in_a_row() -> None:
    runs = _runs(NO_INSET, SPEAKER, SPEAKER, NO_INSET, SPEAKER, SPEAKER, NO_INSET)
    assert _settle(runs) == 3
    assert len(runs) == 1 and runs[0].times_ms == [2000, 4000, 8000, 10000]


def test_without_confidence_nothing_is_said_about_looking_at_each_other() -> None:
    samples = [
        PersonSample(time_s=t / 10, face_visible=True, eye_contact=True, smile=0.9)
        for t in range(100)
    ]
    p = analyze_partners(
        samples,
        samples,
        (1, 2),
        same_room=None,
        cfg=PartnerConfig(surrogates=20),
        analysis_fps=10.0,
        smile_threshold=0.5,
        bridge_gap_s=0.5,
    )
    assert p.same_room is None
    assert p.looking_at_partner == (None, None)
    assert p.mutual_gaze_ratio is None and p.mutual_gaze_episodes == ()
    assert p.moments == ()  # moments need both engaged, which is not known
    assert np.isfinite(p.head_synchrony.windows)
