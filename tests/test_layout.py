"""Gallery detection on real clips (and a stacked gallery composed from the real one)."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.config import Layout
from analyzer.layout import detect_layout, split_regions
from analyzer.types import Region
from tests.clips import video_frames
from tests.conftest import media


def _spread(rel: str, n: int = 6) -> list[np.ndarray]:
    frames = video_frames(media(rel))
    step = max(1, len(frames) // n)
    return frames[::step][:n]


def test_side_by_side_gallery() -> None:
    found = detect_layout(_spread("conversation/composite_gallery_2up_hdtf.mp4"))
    assert found.layout == Layout.SIDE_BY_SIDE
    assert found.regions == (Region(0, 0, 512, 512), Region(512, 0, 512, 512))


def test_stacked_gallery() -> None:
    stacked = [
        np.ascontiguousarray(np.concatenate([f[:, :512], f[:, 512:]], axis=0))
        for f in _spread("conversation/composite_gallery_2up_hdtf.mp4")
    ]
    found = detect_layout(stacked)
    assert found.layout == Layout.STACKED
    assert found.regions == (Region(0, 0, 512, 512), Region(0, 512, 512, 512))


@pytest.mark.parametrize(
    "rel",
    [
        "conversation/vat_demo_two_people_cooking.mp4",  # two people in one room
        "talking/liveportrait_d13.mp4",
        "talking/npg_head_nodding.mp4",
        "misc/fr_short_hamilton_clip.mp4",  # cuts between shots
    ],
)
def test_single_scenes_are_not_galleries(rel: str) -> None:
    assert detect_layout(_spread(rel)).layout == Layout.SINGLE


def test_named_layouts_split_in_halves() -> None:
    assert split_regions(Layout.SIDE_BY_SIDE, 1001, 400) == (
        Region(0, 0, 500, 400),
        Region(500, 0, 501, 400),
    )
    assert split_regions(Layout.STACKED, 640, 720) == (
        Region(0, 0, 640, 360),
        Region(0, 360, 640, 360),
    )
    assert split_regions(Layout.SINGLE, 640, 480) == (Region(0, 0, 640, 480),)
