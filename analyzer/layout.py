"""Finding a video-call gallery: two tiles side by side or stacked, each its own camera.

A tile boundary is a straight line through the middle of the picture that stays put while the
content moves: we score every column (row) by the share of its length where the picture jumps in
brightness across it, keep the score a line holds in most of a few frames spread over the video,
and call it a seam when one line near the middle scores high and stands far above its
neighbours. Tile edges away from the middle (a TV studio's frame around the tiles) are found the
same way; without them a tile runs to the picture's edge. The pipeline then checks that each tile
holds a face before it believes the gallery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from analyzer.config import Layout
from analyzer.types import ImageArray, Region

WORK_WIDTH_PX = 640
EDGE_STEP = 12.0  # grey levels: a jump at least this big counts as an edge pixel
SEAM_MIN_SCORE = 0.5


@dataclass(frozen=True)
class LayoutResult:
    layout: Layout
    regions: tuple[Region, ...]


def _line_scores(grey: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float64]:
    """For each column boundary x (between x-1 and x): share of rows with a brightness jump,
    taken as the 30th percentile over frames (a line must be there in most frames)."""
    per_frame = [
        np.concatenate([[0.0], (np.abs(np.diff(g, axis=1)) > EDGE_STEP).mean(axis=0)]) for g in grey
    ]
    out: npt.NDArray[np.float64] = np.percentile(np.stack(per_frame), 30, axis=0)
    return out


def _find_seam(scores: npt.NDArray[np.float64]) -> int | None:
    n = scores.size
    lo, hi = int(0.4 * n), int(0.6 * n)
    window = scores[lo:hi]
    if window.size == 0:
        return None
    i = int(np.argmax(window))
    best = float(window[i])
    x = lo + i
    others = np.concatenate([window[: max(0, i - 6)], window[i + 7 :]])
    background = float(np.percentile(others, 90)) if others.size else 0.0
    if best >= SEAM_MIN_SCORE and best >= 3.0 * background + 0.1:
        return x
    return None


def _outer_edge(scores: npt.NDArray[np.float64], lo: int, hi: int, nearest_to: int) -> int:
    """A strong line in [lo, hi) nearest the picture edge ``nearest_to``, else that edge."""
    idx = [i for i in range(max(lo, 1), min(hi, scores.size)) if scores[i] >= SEAM_MIN_SCORE]
    if not idx:
        return nearest_to
    return min(idx, key=lambda i: abs(i - nearest_to))


def _tiles_along_x(
    grey: Sequence[npt.NDArray[np.float32]],
) -> tuple[tuple[int, int, int, int], ...] | None:
    """Two tiles split by a vertical seam, as (x0, y0, x1, y1) in the grey frames' pixels."""
    h, w = grey[0].shape
    cols = _line_scores(grey)
    seam = _find_seam(cols)
    if seam is None:
        return None
    left = _outer_edge(cols, 0, seam - int(0.2 * w), 0)
    right = _outer_edge(cols, seam + int(0.2 * w), w, w)
    tiles = []
    for x0, x1 in ((left, seam), (seam, right)):
        rows = _line_scores([g[:, x0:x1].T for g in grey])
        top = _outer_edge(rows, 0, int(0.3 * h), 0)
        bottom = _outer_edge(rows, int(0.7 * h), h, h)
        tiles.append((x0, top, x1, bottom))
    return tuple(tiles)


def detect_layout(frames: Sequence[ImageArray]) -> LayoutResult:
    """Gallery (side by side or stacked) or a single scene, from a few frames of the video."""
    if not frames:
        raise ValueError("detect_layout needs at least one frame")
    h, w = frames[0].shape[:2]
    full = LayoutResult(Layout.SINGLE, (Region(0, 0, w, h),))
    scale = min(1.0, WORK_WIDTH_PX / max(w, h))
    grey = [
        cv2.resize(
            cv2.cvtColor(f, cv2.COLOR_RGB2GRAY),
            None,
            fx=scale,
            fy=scale,
            interpolation=cv2.INTER_AREA,
        ).astype(np.float32)
        for f in frames
    ]
    side = _tiles_along_x(grey)
    stacked_t = _tiles_along_x([np.ascontiguousarray(g.T) for g in grey])
    if side is not None and stacked_t is None:
        return LayoutResult(Layout.SIDE_BY_SIDE, _to_regions(side, scale, w, h, transpose=False))
    if stacked_t is not None and side is None:
        return LayoutResult(Layout.STACKED, _to_regions(stacked_t, scale, w, h, transpose=True))
    inset = _find_inset(grey)
    if inset is not None and side is None and stacked_t is None:
        (tile,) = _to_regions((inset,), scale, w, h, transpose=False)
        return LayoutResult(Layout.PIP, (Region(0, 0, w, h), tile))
    return full


INSET_MIN_SCORE = 0.6


def _static_edges(grey: Sequence[npt.NDArray[np.float32]]) -> tuple[npt.NDArray[np.float64], ...]:
    """Edges present in most frames: across columns (ex) and across rows (ey)."""
    ex = np.percentile(
        np.stack(
            [np.pad(np.abs(np.diff(g, axis=1)) > EDGE_STEP, ((0, 0), (1, 0))) for g in grey]
        ).astype(np.float64),
        30,
        axis=0,
    )
    ey = np.percentile(
        np.stack(
            [np.pad(np.abs(np.diff(g, axis=0)) > EDGE_STEP, ((1, 0), (0, 0))) for g in grey]
        ).astype(np.float64),
        30,
        axis=0,
    )
    return ex, ey


def _find_inset(grey: Sequence[npt.NDArray[np.float32]]) -> tuple[int, int, int, int] | None:
    """A small picture-in-picture tile in a corner (speaker view): a rectangle whose two inner
    edges are straight lines that stay put. Returns (x0, y0, x1, y1) in the grey frames' pixels."""
    ex, ey = _static_edges(grey)
    # the scan below steps two pixels at a time: widen each line to two pixels so that a line
    # on an odd column or row is not stepped over
    ex = np.maximum(ex, np.roll(ex, -1, axis=1))
    ey = np.maximum(ey, np.roll(ey, -1, axis=0))
    h, w = ex.shape
    best: tuple[float, tuple[int, int, int, int]] | None = None
    for flip_x, flip_y in ((False, False), (True, False), (False, True), (True, True)):
        # bring the candidate corner to the bottom right
        fx = ex[:, ::-1] if flip_x else ex
        fy = ey[:, ::-1] if flip_x else ey
        fx = fx[::-1] if flip_y else fx
        fy = fy[::-1] if flip_y else fy
        if flip_x:  # a line "before" column c becomes one "after" it: shift by one
            fx = np.roll(fx, 1, axis=1)
        if flip_y:
            fy = np.roll(fy, 1, axis=0)
        cs_v = np.vstack([np.zeros((1, w)), np.cumsum(fx, axis=0)])  # down each column
        cs_h = np.hstack([np.zeros((h, 1)), np.cumsum(fy, axis=1)])  # along each row
        for x in range(int(0.55 * w), int(0.9 * w), 2):
            length_h = int(0.8 * (w - x))
            for y in range(int(0.55 * h), int(0.9 * h), 2):
                length_v = int(0.8 * (h - y))
                if length_v < 8 or length_h < 8:
                    continue
                sv = (cs_v[y + length_v, x] - cs_v[y, x]) / length_v
                sh = (cs_h[y, x + length_h] - cs_h[y, x]) / length_h
                score = min(sv, sh)
                if score >= INSET_MIN_SCORE and (best is None or score > best[0]):
                    x0, y0, x1, y1 = x, y, w, h
                    if flip_x:
                        x0, x1 = w - x1, w - x0
                    if flip_y:
                        y0, y1 = h - y1, h - y0
                    best = (score, (x0, y0, x1, y1))
    return None if best is None else best[1]


def split_regions(layout: Layout, width: int, height: int) -> tuple[Region, ...]:
    """Regions for a layout the user named: halves of the frame for a gallery."""
    if layout == Layout.SIDE_BY_SIDE:
        half = width // 2
        return (Region(0, 0, half, height), Region(half, 0, width - half, height))
    if layout == Layout.STACKED:
        half = height // 2
        return (Region(0, 0, width, half), Region(0, half, width, height - half))
    if layout == Layout.PIP:  # a guess: a quarter-size inset in the bottom-right corner
        iw, ih = width // 4, height // 4
        return (Region(0, 0, width, height), Region(width - iw, height - ih, iw, ih))
    return (Region(0, 0, width, height),)


def _to_regions(
    tiles: tuple[tuple[int, int, int, int], ...], scale: float, w: int, h: int, *, transpose: bool
) -> tuple[Region, ...]:
    out = []
    for a0, b0, a1, b1 in tiles:
        x0, y0, x1, y1 = (b0, a0, b1, a1) if transpose else (a0, b0, a1, b1)
        x0p, y0p = round(x0 / scale), round(y0 / scale)
        x1p, y1p = min(w, round(x1 / scale)), min(h, round(y1 / scale))
        out.append(Region(x0p, y0p, max(1, x1p - x0p), max(1, y1p - y0p)))
    return tuple(out)
