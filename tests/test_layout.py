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


def _speaker_view(margin: int, right: bool, bottom: bool) -> tuple[list[np.ndarray], int, int]:
    """Synthetic speaker-view frames: a shaded main picture with a moving 'head', and a framed
    268x201 inset ``margin`` pixels from the chosen corner. Returns the frames and the inset's
    inner corner (the one towards the middle of the picture)."""
    import cv2

    w, h, iw, ih = 960, 540, 268, 201
    rng = np.random.default_rng(margin)
    x0 = w - iw - margin if right else margin
    y0 = h - ih - margin if bottom else margin
    # a camera picture: a shaded wall with sensor noise (a plain one would be an app's background)
    wall = np.add.outer(np.linspace(40, 100, h), np.linspace(0, 60, w))[:, :, None].repeat(3, 2)
    out = []
    for _ in range(8):
        f = np.clip(wall + rng.normal(0, 3, wall.shape), 0, 255).astype(np.uint8)
        center = (int(rng.integers(200, 760)), int(rng.integers(100, 440)))
        cv2.circle(f, center, 120, (200, 170, 150), -1)
        f[y0 - 2 : y0 + ih + 2, x0 - 2 : x0 + iw + 2] = 255  # the tile's frame
        f[y0 : y0 + ih, x0 : x0 + iw] = 60
        cv2.circle(f, (x0 + iw // 2 + int(rng.integers(-30, 30)), y0 + ih // 2), 60, (210,) * 3, -1)
        out.append(f)
    return out, (x0 - 2 if right else x0 + iw + 2), (y0 - 2 if bottom else y0 + ih + 2)


@pytest.mark.parametrize(
    "right,bottom", [(True, True), (False, True), (True, False), (False, False)]
)
def test_speaker_view_inset_in_any_corner_at_any_offset(right: bool, bottom: bool) -> None:
    # the work image is scaled by 2/3: every pixel offset must be found, not every other one
    for margin in range(12, 24):
        frames, inner_x, inner_y = _speaker_view(margin, right, bottom)
        found = detect_layout(frames)
        assert found.layout == Layout.PIP, margin
        main, inset = found.regions
        assert main == Region(0, 0, 960, 540)
        x = inset.x if right else inset.x + inset.width
        y = inset.y if bottom else inset.y + inset.height
        assert abs(x - inner_x) <= 4 and abs(y - inner_y) <= 4, (margin, inset)
