"""Contact sheets for labelling by eye: frames of a clip at chosen times, cropped around each face
(or the whole frame when no face is found), each tile stamped with its time.

    python scripts/contact_sheet.py CLIP OUT.png [--every 1.0] [--start 0] [--end END]
                                   [--person left|right|center] [--body]

``--eyes`` crops a band around the eyes (for subtle gaze); ``--body`` crops around the upper
body instead of the face (for labelling arms). The crops come
from the same MediaPipe models the analyzer uses, but only to decide *where to look*; the label
is what the labeller sees in the picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from analyzer.landmarks import LandmarkerOptions, SceneLandmarker
from analyzer.models import model_paths
from analyzer.native_logs import divert_native_stderr
from analyzer.types import Frame, Region
from analyzer.video import open_source

SHARED = Path(__file__).resolve().parents[2] / "shared"
TILE_W, TILE_H = 260, 200


def crop_box(
    obs, person: str | None, body: bool, w: int, h: int, eyes: bool = False
) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    if body and obs.poses:
        poses = sorted(obs.poses, key=lambda p: float(p.landmarks_xy[0][0]))
        pose = _pick(poses, person)
        pts = pose.landmarks_xy[[0, 11, 12, 13, 14, 15, 16]]
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        pad = 0.25 * max(x1 - x0, y1 - y0)
        return _clamp(x0 - pad, y0 - pad, x1 + pad, y1 + pad, w, h)
    if obs.faces:
        faces = sorted(obs.faces, key=lambda f: f.eyes_mid_xy[0])
        face = _pick(faces, person)
        x0, y0, x1, y1 = face.bbox_xyxy
        if eyes:  # a band from the brows to the nose tip: irises large enough to judge
            fw = x1 - x0
            cy = face.eyes_mid_xy[1]
            return _clamp(x0 - 0.1 * fw, cy - 0.3 * fw, x1 + 0.1 * fw, cy + 0.35 * fw, w, h)
        pad = 0.35 * max(x1 - x0, y1 - y0)
        return _clamp(x0 - pad, y0 - pad, x1 + pad, y1 + pad, w, h)
    return (0, 0, w, h)


def _pick(items: list, person: str | None):  # type: ignore[no-untyped-def]
    if person == "left":
        return items[0]
    if person == "right":
        return items[-1]
    return items[len(items) // 2]


def _clamp(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> tuple[int, int, int, int]:
    return (max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("clip", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("--start", type=float, default=0.0)
    ap.add_argument("--end", type=float, default=1e9)
    ap.add_argument("--person", choices=["left", "right", "center"])
    ap.add_argument("--body", action="store_true")
    ap.add_argument("--eyes", action="store_true", help="crop a band around the eyes")
    ap.add_argument("--cols", type=int, default=6)
    args = ap.parse_args()
    models = SHARED / "models"
    options = LandmarkerOptions(model_paths(models), video=False, people_per_region=4)
    tiles = []
    with divert_native_stderr(), open_source(args.clip) as src:
        region = (Region(0, 0, src.info.width, src.info.height),)
        with SceneLandmarker(options, region) as lm:
            next_t = args.start
            for frame in src.frames():
                t = frame.timestamp_ms / 1000.0
                if t + 1e-6 < next_t or t > args.end:
                    continue
                next_t += args.every
                obs = lm.observe(Frame(frame.index, frame.timestamp_ms, frame.rgb))
                x0, y0, x1, y1 = crop_box(
                    obs, args.person, args.body, src.info.width, src.info.height, eyes=args.eyes
                )
                crop = frame.rgb[y0:y1, x0:x1]
                scale = min(TILE_W / crop.shape[1], TILE_H / crop.shape[0])
                crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                tile = np.full((TILE_H, TILE_W, 3), 30, np.uint8)
                tile[: crop.shape[0], : crop.shape[1]] = crop
                cv2.putText(
                    tile,
                    f"{t:.1f}s",
                    (4, 16),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.5,
                    (255, 255, 0),
                    1,
                    cv2.LINE_AA,
                )
                tiles.append(tile)
    if not tiles:
        print("no frames in that span", file=sys.stderr)
        return 1
    while len(tiles) % args.cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + args.cols]) for i in range(0, len(tiles), args.cols)]
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"{args.out}: {len(tiles)} tiles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
