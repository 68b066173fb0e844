"""The body model's head turn (signals/facing.py) against the face model's, where both see a
person: how well they agree, and whether their difference grows with how far off the middle of
the picture the person is (it would, if the pose model did not read each body along its own
line of sight, as is assumed).

    PRESENCE_MODELS_DIR=../shared/models python eval/facing_check.py

Two groups of media from ``../shared/media`` (none is in the one-room check set): the talking
clips and a few others, every 6th frame (agreement); stills and clips with people away from
the middle, every 3rd frame (off-centre fit). Image mode, faces paired with bodies as the
pipeline pairs them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

EVAL = Path(__file__).resolve().parent
MEDIA = EVAL.parent.parent / "shared" / "media"
AGREEMENT = [
    *sorted(str(p.relative_to(MEDIA)) for p in (MEDIA / "talking").glob("*.mp4")),
    "conversation/vv_interview.mp4",
    "posture/vv_noisy_restaurant.mp4",
    "posture/pd_wave.mp4",
    *sorted(str(p.relative_to(MEDIA)) for p in (MEDIA / "posture").glob("imigue_*.mp4")),
]
OFF_CENTRE = [
    "posture/fr_two_people.jpg",
    "posture/fr_obama_and_biden.jpg",
    "gaze/deepface_couple.jpg",
    "misc/deepface_selfie_many_people.jpg",
    "posture/vv_noisy_restaurant.mp4",
    *sorted(str(p.relative_to(MEDIA)) for p in (MEDIA / "gaze").glob("zoombi_real_0*.jpg")),
]


def _frames(path: Path, every: int) -> Iterator[np.ndarray]:
    import av
    import cv2

    if path.suffix in (".jpg", ".png"):
        yield cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        return
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i % every == 0:
                yield frame.to_ndarray(format="rgb24")


def _pairs(rel: str, every: int) -> list[tuple[float, float, float, float]]:
    """(degrees off the middle, face model's head turn, body model's head turn, the body's
    estimate of the head's distance over the face's) per person and frame where both see the
    head."""
    from analyzer.config import AnalyzerConfig
    from analyzer.landmarks import LandmarkerOptions, SceneLandmarker
    from analyzer.models import model_paths
    from analyzer.people import dedupe_faces, dedupe_poses, pair_faces_with_poses
    from analyzer.signals.facing import facing_yaw_deg, head_position_from_body_cm
    from analyzer.signals.gaze import head_position_cm
    from analyzer.signals.head import head_pose
    from analyzer.types import Frame, Region

    models = model_paths(None)  # PRESENCE_MODELS_DIR
    out = []
    for k, rgb in enumerate(_frames(MEDIA / rel, every)):
        region = Region(0, 0, rgb.shape[1], rgb.shape[0])
        opts = LandmarkerOptions.for_analysis(
            models, AnalyzerConfig(), video=False, people_per_region=6
        )
        with SceneLandmarker(opts, (region,)) as lm:
            obs = lm.observe(Frame(index=k, timestamp_ms=k, rgb=rgb))
        for d in pair_faces_with_poses(dedupe_faces(obs.faces), dedupe_poses(obs.poses)):
            if d.face is None or d.pose is None:
                continue
            body = facing_yaw_deg(d.pose)
            if body is None:
                continue
            ray = d.face.camera.ray(*d.face.eyes_mid_xy)
            off = math.degrees(math.atan2(float(ray[0]), -float(ray[2])))
            at = head_position_from_body_cm(d.pose, d.face.camera)
            ratio = math.nan if at is None else float(at[2] / head_position_cm(d.face)[2])
            out.append((off, head_pose(d.face.rotation).yaw_deg, body, ratio))
    return out


def main() -> None:
    rows = []
    for rel in AGREEMENT:
        pairs = _pairs(rel, 6)
        rows += pairs
        if len(pairs) > 2:
            face = np.array([p[1] for p in pairs])
            body = np.array([p[2] for p in pairs])
            r = float(np.corrcoef(face, body)[0, 1])
            print(
                f"{rel:<45} n={len(pairs):<4} face {face.min():.0f}..{face.max():.0f} "
                f"body {body.min():.0f}..{body.max():.0f} r={r:.2f} "
                f"mean |body-face| {np.mean(np.abs(body - face)):.1f}; distance body/face "
                f"median {np.nanmedian([p[3] for p in pairs]):.2f}"
            )
    face = np.array([p[1] for p in rows])
    body = np.array([p[2] for p in rows])
    print(
        f"agreement: {len(rows)} pairs, r {np.corrcoef(face, body)[0, 1]:.2f}, "
        f"mean |body-face| {np.mean(np.abs(body - face)):.1f}°"
    )
    for lo, hi in ((0, 10), (10, 20), (20, 35), (35, 90)):
        m = (np.abs(face) >= lo) & (np.abs(face) < hi)
        if m.any():
            agree = np.mean(np.sign(body[m]) == np.sign(face[m]))
            print(
                f"  |face turn| {lo}-{hi}°: n={m.sum()} mean |body-face| "
                f"{np.mean(np.abs(body[m] - face[m])):.1f}°, same side {agree:.2f}"
            )
    off_rows = [p for rel in OFF_CENTRE for p in _pairs(rel, 3)]
    off = np.array([p[0] for p in off_rows])
    diff = np.array([p[2] - p[1] for p in off_rows])
    slope, intercept = np.linalg.lstsq(np.c_[off, np.ones(len(off))], diff, rcond=None)[0]
    print(
        f"off centre: {len(off_rows)} pairs, {off.min():.0f}..{off.max():.0f}° off the middle; "
        f"body - face = {slope:.2f} x off + {intercept:.1f}° (slope 0: read along each "
        f"person's line of sight; about ±1: along the camera's axis)"
    )


if __name__ == "__main__":
    main()
