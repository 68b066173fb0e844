"""Drawing the live overlay on a frame (OpenCV): face outline, gaze marker, eye-contact
indicator, running numbers, kind cues, frames per second. Pure: returns a new image."""

from __future__ import annotations

import math

import cv2
import numpy as np

from analyzer.live.session import LiveFrame, LivePerson
from analyzer.types import ImageArray

GREEN = (64, 200, 120)
AMBER = (240, 170, 40)
GREY = (170, 170, 170)
WHITE = (255, 255, 255)
INK = (25, 25, 25)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _colour(p: LivePerson) -> tuple[int, int, int]:
    if p.eye_contact:
        return GREEN
    if p.eye_contact is False:
        return AMBER
    return GREY


def _label(
    img: ImageArray,
    text: str,
    org: tuple[int, int],
    scale: float,
    colour: tuple[int, int, int] = WHITE,
    bg: tuple[int, int, int] | None = INK,
) -> int:
    """Text on a rounded-looking box; returns the box height."""
    thick = max(1, round(scale * 2))
    (w, h), base = cv2.getTextSize(text, FONT, scale, thick)
    x, y = org
    pad = max(3, round(6 * scale))
    if bg is not None:  # a translucent box behind the text, blended only where it is
        y0, y1 = max(0, y - h - pad), min(img.shape[0], y + base + pad)
        x0, x1 = max(0, x - pad), min(img.shape[1], x + w + pad)
        if y1 > y0 and x1 > x0:
            roi = img[y0:y1, x0:x1].astype(np.float32)
            img[y0:y1, x0:x1] = (roi * 0.4 + np.array(bg, np.float32) * 0.6).astype(np.uint8)
    cv2.putText(img, text, (x, y), FONT, scale, colour, thick, cv2.LINE_AA)
    return h + base + 2 * pad


def _state(p: LivePerson) -> str:
    if p.eye_contact:
        return "Looking at the camera"
    if p.eyes_closed:
        return "Eyes closed"
    if p.eye_contact is False:
        return "Looking away"
    return "Face not measurable"


def _label_at(img: ImageArray, p: LivePerson, scale: float) -> None:
    """A person's name, state and running numbers under their own face (above it when the
    face is near the bottom), kept inside the picture."""
    assert p.label_xy is not None
    share = "-" if p.contact_share is None else f"{p.contact_share:.0%}"
    lines = [
        (f"{p.name}: {_state(p)}" if p.name else _state(p), scale, _colour(p)),
        (f"eye contact {share}   streak {p.streak_s:.1f} s", scale * 0.8, INK),
    ]
    pad = max(3, round(6 * scale))
    sizes = [cv2.getTextSize(t, FONT, s, max(1, round(s * 2))) for t, s, _ in lines]
    block_w = max(w for (w, _), _ in sizes) + 2 * pad
    block_h = sum(h + b + 2 * pad + 2 for (_, h), b in sizes)
    img_h, img_w = img.shape[:2]
    x = round(min(max(p.label_xy[0] - block_w / 2, pad), max(pad, img_w - block_w)))
    y = p.label_xy[1]
    if y + block_h > img_h:  # no room under the face: above it
        top = float(p.face_outline_xy[:, 1].min()) if p.face_outline_xy is not None else y
        y = max(0.0, top - block_h)
    for (text, s, bg), ((_, h), base) in zip(lines, sizes, strict=True):
        y += h + pad
        _label(img, text, (x + pad, round(y)), s, WHITE, bg)
        y += base + pad + 2


def draw(
    rgb: ImageArray, live: LiveFrame, *, show_fps: bool = True, prompt: str | None = None
) -> ImageArray:
    """The frame with the overlay drawn on a copy (RGB in, RGB out). One person gets a banner
    in the corner; several people (the partners of a call) each get a label at their face.
    ``prompt``: an instruction shown large at the bottom (the calibration's)."""
    img = np.ascontiguousarray(rgb.copy())
    w = img.shape[1]
    scale = max(0.45, min(1.2, w / 1100))
    for p in live.people:
        colour = _colour(p)
        if p.face_outline_xy is not None:
            pts = np.round(p.face_outline_xy).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(img, [pts], True, colour, max(2, round(2 * scale)), cv2.LINE_AA)
        if p.eyes_xy is not None and p.gaze_yaw_deg is not None and p.gaze_pitch_deg is not None:
            length = (p.face_width_px or 100.0) * 0.9
            dx = math.sin(math.radians(p.gaze_yaw_deg)) * length
            dy = -math.sin(math.radians(p.gaze_pitch_deg)) * length
            x0, y0 = round(p.eyes_xy[0]), round(p.eyes_xy[1])
            cv2.arrowedLine(
                img,
                (x0, y0),
                (round(x0 + dx), round(y0 + dy)),
                colour,
                max(2, round(2 * scale)),
                cv2.LINE_AA,
                tipLength=0.25,
            )
            cv2.circle(img, (x0, y0), max(3, round(4 * scale)), colour, -1, cv2.LINE_AA)
    at_faces = len(live.people) > 1 or any(p.name for p in live.people)
    y = round(34 * scale) + 8
    for p in live.people:
        if at_faces:
            if p.label_xy is not None:
                _label_at(img, p, scale * 0.8)
            continue
        y += _label(img, _state(p), (12, y), scale, WHITE, _colour(p))
        share = "-" if p.contact_share is None else f"{p.contact_share:.0%}"
        y += _label(img, f"eye contact {share}   streak {p.streak_s:.1f} s", (12, y), scale * 0.8)
        for cue in p.cues[1:]:  # the first cue is the indicator itself
            y += _label(img, cue, (12, y), scale * 0.75)
        y += 6
    if not live.people:
        _label(img, "No one in view", (12, y), scale, WHITE, GREY)
    if prompt:
        big = scale * 1.1
        (tw, th), _ = cv2.getTextSize(prompt, FONT, big, max(1, round(big * 2)))
        _label(img, prompt, (max(12, (w - tw) // 2), img.shape[0] - th - 16), big, WHITE, INK)
    if show_fps:
        fps_text = f"{live.fps:.0f} fps"
        (tw, _), _ = cv2.getTextSize(fps_text, FONT, scale * 0.7, 1)
        _label(img, fps_text, (w - tw - 16, round(30 * scale)), scale * 0.7)
    return img
