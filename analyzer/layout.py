"""Reading the screen: which rectangles of a frame are separate camera pictures (tiles).

A call recording shows each partner in their own tile: two tiles side by side or stacked, a grid
of more, or a speaker view where one picture fills the screen and the other is a small inset.
``read_screen`` finds the tiles in one moment of a recording (a few frames close in time) in
three steps, each on a downscaled copy:

1. **Tiles on an app background.** Call apps draw tiles on a plain background (any colour),
   often letterboxed or pillarboxed. The background is the colour most of the frame's border
   has, where it stays the same in every frame; what is left are the tiles, found as filled
   rectangles. Whatever is not a clean rectangle (a person in front of a green screen) means
   there is no app background after all.
2. **Seams between touching tiles.** Tiles drawn without a gap meet at a straight line where the
   picture jumps in brightness along (nearly) its whole length, in every frame: a column (row)
   that scores far above its neighbours splits the tile, recursively for grids.
3. **Insets.** A small picture over a bigger one (speaker view, a phone's self view) has two
   inner edges that are straight lines standing still while the content moves.

Which tiles hold people is decided afterwards with the face model (``analyzer.scene``); this
module only reads pixels.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from analyzer.config import Layout
from analyzer.types import ImageArray, Region

WORK_PX = 640  # the long side of the working copy
EDGE_STEP = 12.0  # colour levels: a jump at least this big counts as an edge pixel
SEAM_MIN_SCORE = 0.5
STILL_STEP = 8  # colour levels: a pixel that changes less than this in every frame is still
STILL_MIN_SHARE = 0.9  # of a strip outside a studio's frame that stays still
BACKGROUND_TOL = 10  # colour levels: a pixel this close to the background colour is background
BACKGROUND_MIN_BORDER_SHARE = 0.25  # of the frame's border, to call a colour the background
TILE_MIN_AREA = 0.005  # of the frame, for a tile found on a background (a thumbnail)
TILE_MIN_SIDE_SHARE = 0.35  # share of each side of a tile's rectangle that is picture
GAP_MIN_SHARE = 0.95  # share of a column (row) that is background, to cut along it
FLAT_STEP = 3  # colour levels between neighbours of a flat background (compression noise)
INSET_MIN_SCORE = 0.8  # a static room edge scores 0.6-0.7, an inset's edge 0.8 and more
INSET_PARENT_MIN_AREA = 0.35  # of the frame: the main picture of a speaker view
INSET_MIN_ASPECT, INSET_MAX_ASPECT = 0.45, 2.4
MIN_TILE_ASPECT, MAX_TILE_ASPECT = 0.3, 3.5
MIN_BG_TILE_ASPECT = 0.45  # a phone's portrait picture is 0.56
MAX_ROW_ASPECT = 8.0  # tiles touching in a row, before seams split them
# Two readings of a tile overlapping this much are one tile (a camera picture's dark edge is
# sometimes read as background); an inset dragged or resized overlaps its old place less.
SAME_TILE_IOU = 0.7

Work = npt.NDArray[np.uint8]  # H x W x 3, the downscaled frame
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Tile:
    """One camera picture: where it is, and how it was told apart from its neighbours."""

    region: Region
    inset: bool = False  # a small picture over a bigger one, its ``parent``
    by_seam: bool = False  # split by seams from its neighbours in ``parent`` (no gap between)
    parent: Region | None = None


@dataclass(frozen=True)
class Screen:
    """What one moment of a recording shows."""

    width: int
    height: int
    tiles: tuple[Tile, ...]
    background_rgb: tuple[int, int, int] | None = None

    def same_as(self, other: Screen, min_iou: float = SAME_TILE_IOU) -> bool:
        """The same tiles (each matched to one of the other's with this overlap)."""
        return len(self.tiles) == len(other.tiles) and self.within(other, min_iou)

    def coarser_than(self, other: Screen) -> bool:
        """Fewer tiles, each covering whole tiles of the other (a gap between two tiles lost)."""
        if len(self.tiles) >= len(other.tiles):
            return False
        return all(
            any(_covers(mine.region, theirs.region) for mine in self.tiles)
            for theirs in other.tiles
        )

    def within(self, other: Screen, min_iou: float = SAME_TILE_IOU) -> bool:
        """Each of these tiles is one of the other's (a moment that missed an inset, or whose
        two frames straddle a change of layout, sees part of what its neighbours see)."""
        left = [t.region for t in other.tiles]
        for t in self.tiles:
            best = max(left, key=lambda r: region_iou(r, t.region), default=None)
            if best is None or region_iou(best, t.region) < min_iou:
                return False
            left.remove(best)
        return True


@dataclass(frozen=True)
class LayoutResult:
    layout: Layout
    regions: tuple[Region, ...]


def _covers(a: Region, b: Region) -> bool:
    """``a`` holds (nearly) all of ``b``."""
    ix = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    return ix * iy >= 0.9 * b.width * b.height


def region_iou(a: Region, b: Region) -> float:
    ix = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def shrink(rgb: ImageArray) -> ImageArray:
    """The working copy of a frame: its long side at most ``WORK_PX``."""
    h, w = rgb.shape[:2]
    scale = min(1.0, WORK_PX / max(w, h))
    if scale >= 1.0:
        return rgb
    small = cv2.resize(
        rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    return np.asarray(small, dtype=np.uint8)


def read_screen(small: Sequence[ImageArray], size_wh: tuple[int, int]) -> Screen:
    """The tiles of one moment of a recording. ``small``: one or a few frames of that moment
    (the more, the surer the still lines), at most ``WORK_PX`` on their long side (as ``shrink``
    makes them); ``size_wh``: the frame's
    full size, in whose pixels the tiles are given."""
    if not small:
        raise ValueError("read_screen needs at least one frame")
    w, h = size_wh
    work = [np.ascontiguousarray(f, dtype=np.uint8) for f in small]
    wh, ww = work[0].shape[:2]
    scale = ww / w
    bg = _background_colour(work)
    boxes: list[tuple[int, int, int, int]] | None = None
    if bg is not None:
        boxes = _tiles_on_background(work, bg)
        if boxes is None:
            bg = None
    if boxes is None:
        boxes = [(0, 0, ww, wh)]
    tiles: list[Tile] = []
    for box in boxes:
        parts = _split_by_seams(work, box, whole_frame=bg is None)
        whole = _to_region(box, scale, w, h)
        if len(parts) > 1:
            tiles += [Tile(_to_region(p, scale, w, h), by_seam=True, parent=whole) for p in parts]
            continue
        tiles.append(Tile(whole))
        if (box[2] - box[0]) * (box[3] - box[1]) >= INSET_PARENT_MIN_AREA * wh * ww:
            inset = _find_inset(work, box)  # a speaker view: a small picture over a big one
            if inset is not None:
                tiles.append(Tile(_to_region(inset, scale, w, h), inset=True, parent=whole))
    return Screen(width=w, height=h, tiles=tuple(tiles), background_rgb=bg)


# -- 1. tiles on an app background ---------------------------------------------------------------


def _border(img: Work) -> npt.NDArray[np.int16]:
    return np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.int16)


def _background_colour(work: Sequence[Work]) -> tuple[int, int, int] | None:
    """The colour of most of the frame's border, if it is the same in every frame."""
    ring = np.concatenate([_border(f) for f in work])
    quant = (ring // 8).astype(np.int32)
    codes = quant[:, 0] * 1024 + quant[:, 1] * 32 + quant[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    code = int(values[int(np.argmax(counts))])
    near = np.abs(quant - np.array([code // 1024, (code // 32) % 32, code % 32])).max(axis=1) <= 1
    colour = np.median(ring[near], axis=0)
    for f in work:
        share = float((np.abs(_border(f) - colour).max(axis=1) <= BACKGROUND_TOL).mean())
        if share < BACKGROUND_MIN_BORDER_SHARE:
            return None
    return (int(colour[0]), int(colour[1]), int(colour[2]))


def _background_masks(work: Sequence[Work], bg: tuple[int, int, int]) -> tuple[Mask, Mask, Mask]:
    """Where the frames show the background (in at least a third of them: an active-speaker
    border reaches into the gap between tiles now and then): by colour alone, and (for cutting
    along columns and rows) where it is also flat along the column or the row. An app's
    background is one flat colour; a dark room of the same colour in a camera picture is not
    flat."""
    lo = np.array([max(0, c - BACKGROUND_TOL) for c in bg], np.uint8)
    hi = np.array([min(255, c + BACKGROUND_TOL) for c in bg], np.uint8)
    near = np.zeros(work[0].shape[:2], np.int32)
    flat_v = np.zeros_like(near)
    flat_h = np.zeros_like(near)
    for f in work:
        is_near = cv2.inRange(f, lo, hi) > 0
        dv = _chan_max(_absdiff(f[1:], f[:-1])) <= FLAT_STEP
        dh = _chan_max(_absdiff(f[:, 1:], f[:, :-1])) <= FLAT_STEP
        near += is_near
        flat_v += (
            is_near
            & np.pad(dv, ((1, 0), (0, 0)), constant_values=True)
            & np.pad(dv, ((0, 1), (0, 0)), constant_values=True)
        )
        flat_h += (
            is_near
            & np.pad(dh, ((0, 0), (1, 0)), constant_values=True)
            & np.pad(dh, ((0, 0), (0, 1)), constant_values=True)
        )
    some = len(work) / 3
    return near >= some, flat_v >= some, flat_h >= some


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _xy_cut(
    cols_bg: Mask, rows_bg: Mask, box: tuple[int, int, int, int], depth: int = 0
) -> list[tuple[int, int, int, int]]:
    """Cut ``box`` along full columns and rows of background (recursively): the pieces left."""
    x0, y0, x1, y1 = box
    if x1 - x0 < 4 or y1 - y0 < 4 or depth > 6:
        return []
    # a gap one pixel wide in the working copy is blurred by the video's colour subsampling and
    # an active-speaker border beside it: a pixel of the gap counts if it or its neighbour
    # across the gap is background
    cols = cols_bg[y0:y1, x0:x1]
    rows = rows_bg[y0:y1, x0:x1]
    cols = cols | np.pad(cols[:, 1:], ((0, 0), (0, 1)))
    rows = rows | np.pad(rows[1:], ((0, 1), (0, 0)))
    col_gap = cols.mean(axis=0) >= GAP_MIN_SHARE
    row_gap = rows.mean(axis=1) >= GAP_MIN_SHARE
    if col_gap.all() or row_gap.all():
        return []
    pieces_x = _runs(~col_gap)
    pieces_y = _runs(~row_gap)
    if len(pieces_x) == 1 and len(pieces_y) == 1:
        (a, b), (c, d) = pieces_x[0], pieces_y[0]
        if (a, b, c, d) == (0, x1 - x0, 0, y1 - y0):
            return [box]
        return _xy_cut(cols_bg, rows_bg, (x0 + a, y0 + c, x0 + b, y0 + d), depth + 1)
    out = []
    if len(pieces_x) > 1:
        for a, b in pieces_x:
            out += _xy_cut(cols_bg, rows_bg, (x0 + a, y0, x0 + b, y1), depth + 1)
    else:
        for c, d in pieces_y:
            out += _xy_cut(cols_bg, rows_bg, (x0, y0 + c, x1, y0 + d), depth + 1)
    return out


def _rectangular(picture: Mask) -> bool:
    """A picture that fills its box to the edges and into the corners (rounded corners allowed),
    unlike a circle or a person's outline. One side and one corner may look like background (a
    camera picture with a dark, flat corner)."""
    bh, bw = picture.shape
    k = min(2, bw // 4, bh // 4)  # a line just inside: the edge itself is never flat
    sides = (picture[k], picture[-1 - k], picture[:, k], picture[:, -1 - k])
    c = max(2, round(0.12 * min(bw, bh)))
    corners = (picture[:c, :c], picture[:c, -c:], picture[-c:, :c], picture[-c:, -c:])
    return (
        sum(float(s.mean()) >= TILE_MIN_SIDE_SHARE for s in sides) >= 3
        and sum(float(q.mean()) >= TILE_MIN_SIDE_SHARE for q in corners) >= 3
    )


def _tiles_on_background(
    work: Sequence[Work], bg: tuple[int, int, int]
) -> list[tuple[int, int, int, int]] | None:
    """The rectangles left when the frame is cut along full columns and rows of background, as
    (x0, y0, x1, y1); None when what stands out from the background is not rectangles (a person
    before a plain wall) or is the whole frame."""
    near, cols_bg, rows_bg = _background_masks(work, bg)
    flat_bg = cols_bg & rows_bg
    h, w = near.shape
    boxes, misfit = [], 0
    for x0, y0, x1, y1 in _xy_cut(cols_bg, rows_bg, (0, 0, w, h)):
        bw, bh = x1 - x0, y1 - y0
        if bw * bh < TILE_MIN_AREA * w * h or not MIN_BG_TILE_ASPECT <= bw / bh <= MAX_ROW_ASPECT:
            continue  # an icon or a name on the background, or a sliver of a dark picture
        if not _rectangular(~flat_bg[y0:y1, x0:x1]):
            misfit += bw * bh  # a name card's initials, or a person before a plain wall
            continue
        boxes.append((x0, y0, x1, y1))
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) <= misfit:
        return None  # mostly shapes before a plain background (a person before a wall)
    if len(boxes) == 1:
        x0, y0, x1, y1 = boxes[0]
        if (x1 - x0) * (y1 - y0) > 0.97 * w * h:
            return None  # nothing but a thin border: the whole frame is the picture
    return sorted(boxes, key=lambda b: (b[1], b[0]))


# -- 2. seams between touching tiles -------------------------------------------------------------


def _absdiff(a: Work, b: Work) -> Work:
    out: Work = np.asarray(cv2.absdiff(a, b), dtype=np.uint8)
    return out


def _chan_max(a: Work) -> Work:
    out: Work = np.maximum(np.maximum(a[..., 0], a[..., 1]), a[..., 2])
    return out


def _edges_x(f: Work) -> npt.NDArray[np.bool_]:
    """Per pixel: the picture jumps between this column and the one before (first column not)."""
    jump = _chan_max(_absdiff(f[:, 1:], f[:, :-1])) > EDGE_STEP
    return np.pad(jump, ((0, 0), (1, 0)))


def _mostly(masks: Sequence[npt.NDArray[np.bool_]]) -> npt.NDArray[np.float64]:
    """Per pixel, the 30th percentile over frames of a yes/no map (1 where it holds in most
    frames), with numpy's linear interpolation, computed from the count of frames."""
    k = len(masks)
    if k == 1:
        return masks[0].astype(np.float64)
    ones = np.sum(np.stack(masks), axis=0, dtype=np.float64)
    out: npt.NDArray[np.float64] = np.clip(0.3 * (k - 1) + 1 - (k - ones), 0.0, 1.0)
    return out


def _line_scores(work: Sequence[Work]) -> npt.NDArray[np.float64]:
    """For each column boundary x: share of rows with a jump across it, taken as the 30th
    percentile over frames (a line must be there in most frames)."""
    per_frame = [_edges_x(f).mean(axis=0) for f in work]
    out: npt.NDArray[np.float64] = np.percentile(np.stack(per_frame), 30, axis=0)
    return out


def _best_seam(scores: npt.NDArray[np.float64], lo: int, hi: int) -> int | None:
    window = scores[lo:hi]
    if window.size == 0:
        return None
    i = int(np.argmax(window))
    best = float(window[i])
    others = np.concatenate([window[: max(0, i - 6)], window[i + 7 :]])
    background = float(np.percentile(others, 90)) if others.size else 0.0
    if best >= SEAM_MIN_SCORE and best >= 3.0 * background + 0.1:
        return lo + i
    return None


def _outer_edge(
    scores: npt.NDArray[np.float64],
    lo: int,
    hi: int,
    nearest_to: int,
    still: npt.NDArray[np.float64],
) -> int:
    """A strong line in [lo, hi) nearest the picture edge ``nearest_to`` with nothing but still
    graphics between it and that edge (the frame a TV studio draws around its tiles), else that
    edge. ``still``: per column, the share of its pixels that stay the same in every frame."""
    idx = [i for i in range(max(lo, 1), min(hi, scores.size)) if scores[i] >= SEAM_MIN_SCORE]
    for i in sorted(idx, key=lambda i: abs(i - nearest_to)):
        strip = still[min(i, nearest_to) : max(i, nearest_to)]
        if strip.size and float(strip.mean()) >= STILL_MIN_SHARE:
            return i
    return nearest_to


def _still_columns(crop: Sequence[Work]) -> npt.NDArray[np.float64]:
    """Per column, the share of pixels that stay within a few levels in every frame (one frame
    tells nothing: nothing counts as still)."""
    if len(crop) < 2:
        return np.zeros(crop[0].shape[1])
    stack = np.stack(crop)
    spread = _chan_max(np.ascontiguousarray(stack.max(axis=0) - stack.min(axis=0)))
    out: npt.NDArray[np.float64] = (spread <= STILL_STEP).mean(axis=0)
    return out


def _split_along_x(
    work: Sequence[Work], box: tuple[int, int, int, int], *, trim: bool
) -> list[tuple[int, int, int, int]] | None:
    """``box`` split at seams into two halves or three thirds (call apps make tiles of one
    size), as (x0, y0, x1, y1); with ``trim``, each part is trimmed to strong lines near the
    picture's edges (a TV studio's frame around its tiles)."""
    x0, y0, x1, y1 = box
    crop = [f[y0:y1, x0:x1] for f in work]
    w, h = x1 - x0, y1 - y0
    if w < 40 or h < 20:
        return None
    cols = _line_scores(crop)
    halves = _best_seam(cols, int(0.42 * w), int(0.58 * w))
    thirds = [_best_seam(cols, int((c - 0.06) * w), int((c + 0.06) * w)) for c in (1 / 3, 2 / 3)]
    if halves is not None:
        seams = [halves]
    elif thirds[0] is not None and thirds[1] is not None:
        seams = [thirds[0], thirds[1]]
    else:
        return None
    still = _still_columns(crop) if trim else np.zeros(w)
    left = _outer_edge(cols, 0, seams[0] - int(0.2 * w), 0, still) if trim else 0
    right = _outer_edge(cols, seams[-1] + int(0.2 * w), w, w, still) if trim else w
    edges = [left, *seams, right]
    parts = []
    for a, b in itertools.pairwise(edges):
        top, bottom = 0, h
        if trim:
            part_t = [_t(c[:, a:b]) for c in crop]
            rows = _line_scores(part_t)
            still_rows = _still_columns(part_t)
            top = _outer_edge(rows, 0, int(0.3 * h), 0, still_rows)
            bottom = _outer_edge(rows, int(0.7 * h), h, h, still_rows)
        parts.append((x0 + a, y0 + top, x0 + b, y0 + bottom))
    for px0, py0, px1, py1 in parts:
        aspect = (px1 - px0) / max(1, py1 - py0)
        if not MIN_TILE_ASPECT <= aspect <= MAX_TILE_ASPECT:
            return None
    return parts


def _t(f: Work) -> Work:
    """A picture transposed (columns become rows), contiguous."""
    out: Work = np.asarray(cv2.transpose(np.ascontiguousarray(f)), dtype=np.uint8)
    return out


def _transpose_box(b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return (b[1], b[0], b[3], b[2])


def _split_by_seams(
    work: Sequence[Work], box: tuple[int, int, int, int], *, whole_frame: bool
) -> list[tuple[int, int, int, int]]:
    """The tiles inside ``box``, split at seams: two or three in a row or a column, or a 2x2
    grid inside a box found on an app background. On a whole frame a cross of seams is not
    believed (a window frame and a table edge)."""
    transposed = [_t(f) for f in work]
    side = _split_along_x(work, box, trim=whole_frame)
    stacked_t = _split_along_x(transposed, _transpose_box(box), trim=whole_frame)
    stacked = None if stacked_t is None else [_transpose_box(b) for b in stacked_t]
    if side is not None and stacked is not None:
        if whole_frame or len(side) != 2 or len(stacked) != 2:
            return [box]
        grid = []
        for half in side:
            rows = _split_along_x(transposed, _transpose_box(half), trim=False)
            if rows is None or len(rows) != 2:
                return [box]
            grid += [_transpose_box(b) for b in rows]
        return grid
    return side or stacked or [box]


# -- 3. insets -----------------------------------------------------------------------------------


def _soft_edges_x(f: Work) -> npt.NDArray[np.bool_]:
    """Like ``_edges_x``, for an edge the downscaling spread over two pixels: the picture jumps
    between the column before and the one after (an inset without a frame)."""
    jump = _chan_max(_absdiff(f[:, 2:], f[:, :-2])) > EDGE_STEP
    return np.pad(jump, ((0, 0), (1, 1)))


def _static_edges(work: Sequence[Work]) -> tuple[npt.NDArray[np.float64], ...]:
    """Edges present in most frames: across columns (ex) and across rows (ey)."""
    ex = _mostly([_soft_edges_x(f) for f in work])
    ey = _mostly([_soft_edges_x(_t(f)).T for f in work])
    return ex, ey


def _find_inset(
    work: Sequence[Work], box: tuple[int, int, int, int]
) -> tuple[int, int, int, int] | None:
    """A small picture in a corner of ``box`` (speaker view): a rectangle whose two inner edges
    are straight lines that stay put. Returns (x0, y0, x1, y1) in work pixels."""
    bx0, by0, bx1, by1 = box
    ex, ey = _static_edges([f[by0:by1, bx0:bx1] for f in work])
    # the scan below steps two pixels at a time: widen each line to two pixels so that a line
    # on an odd column or row is not stepped over
    ex = np.maximum(ex, np.roll(ex, -1, axis=1)).astype(np.float32)
    ey = np.maximum(ey, np.roll(ey, -1, axis=0)).astype(np.float32)
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
        xs = np.arange(int(0.55 * w), int(0.9 * w), 2)
        ys = np.arange(int(0.55 * h), int(0.9 * h), 2)
        if xs.size == 0 or ys.size == 0:
            continue
        # running sums down the candidate columns and along the candidate rows, from where a
        # corner can be to the edge (the rest of the picture plays no part)
        ya, xa = int(ys[0]), int(xs[0])
        cs_v = np.zeros((h - ya + 1, xs.size), np.float32)
        np.cumsum(fx[ya:, xs], axis=0, out=cs_v[1:])
        cs_h = np.zeros((ys.size, w - xa + 1), np.float32)
        np.cumsum(fy[ys, xa:], axis=1, out=cs_h[:, 1:])
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        jj, ii = np.meshgrid(np.arange(ys.size), np.arange(xs.size), indexing="ij")
        length_v = (0.8 * (h - yy)).astype(int)
        length_h = (0.8 * (w - xx)).astype(int)
        sv = (cs_v[yy - ya + length_v, ii] - cs_v[yy - ya, ii]) / np.maximum(length_v, 1)
        sh = (cs_h[jj, xx - xa + length_h] - cs_h[jj, xx - xa]) / np.maximum(length_h, 1)
        score = np.minimum(sv, sh)
        aspect = (w - xx) / (h - yy)
        ok = (
            (length_v >= 8)
            & (length_h >= 8)
            & (aspect >= INSET_MIN_ASPECT)  # not a name label or a toolbar
            & (aspect <= INSET_MAX_ASPECT)
            & (score >= INSET_MIN_SCORE)
        )
        if not ok.any():
            continue
        k = int(np.argmax(np.where(ok, score, -1.0)))
        j, i = np.unravel_index(k, score.shape)
        if best is not None and float(score[j, i]) <= best[0]:
            continue
        x0, y0, x1, y1 = int(xs[i]), int(ys[j]), w, h
        if flip_x:
            x0, x1 = w - x1, w - x0
        if flip_y:
            y0, y1 = h - y1, h - y0
        best = (float(score[j, i]), (bx0 + x0, by0 + y0, bx0 + x1, by0 + y1))
    return None if best is None else best[1]


# -- whole layouts -------------------------------------------------------------------------------


def layout_of(tiles: Sequence[Region], insets: Sequence[bool] = ()) -> Layout:
    """What a viewer would call an arrangement of camera pictures that hold people."""
    n = len(tiles)
    if n <= 1:
        return Layout.SINGLE
    if n > 2:
        return Layout.GRID
    a, b = tiles
    small, big = sorted((a, b), key=lambda r: r.width * r.height)
    if any(insets) or small.width * small.height < 0.3 * big.width * big.height:
        return Layout.PIP
    (ax, ay), (bx, by) = a.center_xy, b.center_xy
    return Layout.SIDE_BY_SIDE if abs(ax - bx) >= abs(ay - by) else Layout.STACKED


def detect_layout(frames: Sequence[ImageArray]) -> LayoutResult:
    """The layout of frames that all show the same arrangement, from their pixels alone (every
    tile, whether or not it holds a person)."""
    h, w = frames[0].shape[:2]
    screen = read_screen([shrink(f) for f in frames], (w, h))
    regions = tuple(t.region for t in screen.tiles)
    if len(regions) == 1:
        return LayoutResult(Layout.SINGLE, regions)
    if any(t.inset for t in screen.tiles):
        inset = next(t for t in screen.tiles if t.inset)
        assert inset.parent is not None
        return LayoutResult(Layout.PIP, (inset.parent, inset.region))
    return LayoutResult(layout_of(regions), regions)


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


def _to_region(box: tuple[int, int, int, int], scale: float, w: int, h: int) -> Region:
    x0, y0, x1, y1 = box
    x0p, y0p = round(x0 / scale), round(y0 / scale)
    x1p, y1p = min(w, round(x1 / scale)), min(h, round(y1 / scale))
    return Region(x0p, y0p, max(1, x1p - x0p), max(1, y1p - y0p))
