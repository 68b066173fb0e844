"""Call recordings made the way call apps lay them out, from real clips in ../shared/media.

A ``CallSpec`` describes a recording: its frame size, the app's background, and a list of
``Scene``s (what the screen shows from a time on: which tile holds which partner, a camera-off
name card, an empty tile or a screen share). ``render_call`` writes it as H.264 MP4 with the two
partners' own voices mixed into an AAC track, and returns where each partner was on screen at
every moment (``CallTruth``) for the tests to check against.

The chrome is drawn as the apps draw it: tiles with or without gaps, rounded corners, name
labels, a mute icon, an active-speaker border that moves between the tiles as the speaker
changes, a meeting toolbar in screen recordings, and an inset (self view) with or without a
frame. A tile shows its partner's camera scaled to cover the tile and cropped, as apps do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

Rect = tuple[int, int, int, int]  # x, y, width, height in frame pixels
RGB = tuple[int, int, int]

CARD = "card"  # a partner's camera is off: a name card with their initials
EMPTY = "empty"  # a tile nobody is in (a participant who left the camera off, no name)
SHARE = "share"  # a screen share: a slide of text


@dataclass(frozen=True)
class Tile:
    """One tile of a scene: ``who`` is a partner's index (0 or 1), or CARD/EMPTY/SHARE.

    For CARD, ``card_of`` names whose card it is (their camera is off)."""

    rect: Rect
    who: int | str
    card_of: int | None = None
    frame_px: int = 0  # a light frame around the tile (speaker-view insets)
    frame_rgb: RGB = (235, 235, 235)


@dataclass(frozen=True)
class Scene:
    start_s: float
    tiles: tuple[Tile, ...]
    kind: str = "side-by-side"  # the layout the report should name (analyzer.config.Layout)

    def pictures(self, cards_count: bool = False) -> frozenset[Rect]:
        """The tiles with a partner in them (and, ``cards_count``, their camera-off cards)."""
        return frozenset(
            t.rect
            for t in self.tiles
            if isinstance(t.who, int) or (cards_count and t.who == CARD and t.card_of is not None)
        )


@dataclass(frozen=True)
class CallSpec:
    name: str
    size: tuple[int, int]  # width, height
    scenes: tuple[Scene, ...]
    seconds: float
    partners: tuple[str, str] = ("talking/liveportrait_d9.mp4", "talking/liveportrait_d14.mp4")
    names: tuple[str, str] = ("Alex Morgan", "Sam Rivera")
    background: RGB = (26, 26, 26)
    fps: int = 25
    radius_px: int = 0  # rounded tile corners
    labels: bool = True
    speaker_border_rgb: RGB | None = (35, 217, 89)
    mute_icon: bool = True
    toolbar_px: int = 0  # a meeting toolbar along the bottom (screen recordings)
    audio: bool = True
    gop_s: float | None = 2.0  # keyframe interval; None: the encoder's default (10 s)
    offsets_s: tuple[float, float] = (0.0, 0.0)  # where in their clip each partner starts
    expected_positions: tuple[str, str] = ("left", "right")  # report positions of partners 0, 1
    notes: str = ""

    def expected_spans(self, *, cards_count: bool = False) -> list[tuple[float, str]]:
        """(start, layout) of each stretch the report should give: scenes that show the same
        camera pictures with people (whoever is in them) are one stretch. With
        ``cards_count``, a camera-off name card counts as a picture too (whether a card's tile
        stays analyzed while the camera is off is up to the reader: both are right)."""
        out: list[tuple[float, str]] = []
        prev: Scene | None = None
        for scene in self.scenes:
            if prev is None or (scene.pictures(cards_count), scene.kind) != (
                prev.pictures(cards_count),
                prev.kind,
            ):
                out.append((scene.start_s, scene.kind))
            prev = scene
        return out

    def kind_at(self, t: float) -> str:
        return _scene_at(self, t).kind


@dataclass(frozen=True)
class CallTruth:
    """Where each partner's camera picture was at each output frame (None: not on screen)."""

    times_s: tuple[float, ...]
    rects: tuple[tuple[Rect | None, Rect | None], ...]

    def rect_at(self, partner: int, t: float) -> Rect | None:
        i = min(range(len(self.times_s)), key=lambda k: abs(self.times_s[k] - t))
        return self.rects[i][partner]

    def visible_share(self, partner: int) -> float:
        return sum(r[partner] is not None for r in self.rects) / max(1, len(self.rects))


@dataclass
class _ClipReader:
    """A clip's frames by time, decoded in order and looped; memory holds one frame."""

    path: Path
    _container: av.container.InputContainer | None = None
    _it: Iterator[av.VideoFrame] | None = None
    _cur: np.ndarray | None = None
    _cur_t: float = -1.0
    _next: tuple[float, np.ndarray] | None = None
    _offset: float = 0.0
    _length: float = field(default=0.0)

    def __post_init__(self) -> None:
        with av.open(str(self.path)) as c:
            s = c.streams.video[0]
            self._length = float(s.duration * s.time_base) if s.duration else 0.0
        self._open()

    def _open(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = av.open(str(self.path))
        self._it = iter(self._container.decode(video=0))

    def _pull(self) -> tuple[float, np.ndarray]:
        assert self._it is not None
        try:
            f = next(self._it)
        except StopIteration:
            self._offset += self._length
            self._open()
            f = next(self._it)
        return (float(f.time or 0.0) + self._offset, f.to_ndarray(format="rgb24"))

    def at(self, t: float) -> np.ndarray:
        if self._cur is None:
            self._cur_t, self._cur = self._pull()
        while True:
            if self._next is None:
                self._next = self._pull()
            if self._next[0] > t + 1e-6:
                return self._cur
            self._cur_t, self._cur = self._next
            self._next = None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()


def _fit(src: np.ndarray, w: int, h: int) -> np.ndarray:
    """A camera picture of ``w`` x ``h``: the source scaled to cover it and cropped, as apps
    fill a tile (a little more of the top is kept: heads sit high in a webcam picture)."""
    sh, sw = src.shape[:2]
    scale = max(w / sw, h / sh)
    iw, ih = max(w, round(sw * scale)), max(h, round(sh * scale))
    img = cv2.resize(src, (iw, ih), interpolation=cv2.INTER_AREA)
    x0 = (iw - w) // 2
    y0 = int((ih - h) * 0.4)
    return np.ascontiguousarray(img[y0 : y0 + h, x0 : x0 + w])


def _corner_alpha(r: int) -> np.ndarray:
    """Coverage of an r x r top-left corner square by a rounded corner of radius r."""
    mask = np.zeros((2 * r, 2 * r), np.uint8)
    cv2.circle(mask, (r, r), r, 255, -1, cv2.LINE_AA)
    return (mask[:r, :r].astype(np.float32) / 255.0)[:, :, None]


def _round_corners(img: np.ndarray, tile: np.ndarray, x: int, y: int, r: int) -> None:
    """Paste ``tile`` at (x, y), its corners rounded with radius ``r`` over what is there."""
    h, w = tile.shape[:2]
    corners = {}
    if r > 0:
        for cy in (y, y + h - r):
            for cx in (x, x + w - r):
                corners[(cx, cy)] = img[cy : cy + r, cx : cx + r].astype(np.float32)
    img[y : y + h, x : x + w] = tile
    if r <= 0:
        return
    a = _corner_alpha(r)
    for (cx, cy), under in corners.items():
        flip = (slice(None, None, -1 if cy > y else 1), slice(None, None, -1 if cx > x else 1))
        alpha = a[flip]
        roi = img[cy : cy + r, cx : cx + r].astype(np.float32)
        img[cy : cy + r, cx : cx + r] = (roi * alpha + under * (1 - alpha)).astype(np.uint8)


def _card(w: int, h: int, name: str, colour: RGB) -> np.ndarray:
    """A camera-off tile: the name's initials in a circle, the name under it."""
    img = np.full((h, w, 3), (40, 40, 44), np.uint8)
    r = max(12, min(w, h) // 6)
    cv2.circle(img, (w // 2, h // 2 - r // 3), r, colour, -1, cv2.LINE_AA)
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    scale = r / 30
    (tw, th), _ = cv2.getTextSize(initials, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.putText(
        img,
        initials,
        (w // 2 - tw // 2, h // 2 - r // 3 + th // 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        2,
        cv2.LINE_AA,
    )
    return img


def _share(w: int, h: int) -> np.ndarray:
    """A screen share: a white slide with a title and lines of text."""
    img = np.full((h, w, 3), 250, np.uint8)
    s = max(0.3, w / 900)
    cv2.putText(
        img,
        "Quarterly plan",
        (w // 12, h // 6),
        cv2.FONT_HERSHEY_SIMPLEX,
        1.4 * s,
        (30, 60, 120),
        2,
        cv2.LINE_AA,
    )
    for k in range(6):
        y = h // 4 + k * h // 10
        cv2.putText(
            img,
            f"- item {k + 1}: review the numbers and the next steps",
            (w // 10, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8 * s,
            (40, 40, 40),
            1,
            cv2.LINE_AA,
        )
    return img


def _label(img: np.ndarray, rect: Rect, text: str, muted: bool) -> None:
    x, y, w, h = rect
    scale = max(0.35, min(0.7, w / 900))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    pad = 5
    icon = th + 4 if muted else 0
    x0, y1 = x + 8, y + h - 8
    x1, y0 = x0 + tw + 2 * pad + icon, y1 - th - base - 2 * pad
    roi = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = (roi * 0.35).astype(np.uint8)
    if muted:  # a red microphone-off mark
        c = (x0 + pad + th // 2, (y0 + y1) // 2)
        cv2.circle(img, c, th // 2 + 1, (230, 60, 60), -1, cv2.LINE_AA)
        cv2.line(
            img,
            (c[0] - th // 2, c[1] + th // 2),
            (c[0] + th // 2, c[1] - th // 2),
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    cv2.putText(
        img,
        text,
        (x0 + pad + icon, y1 - pad - base),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )


def _toolbar(img: np.ndarray, height: int) -> None:
    h, w = img.shape[:2]
    img[h - height :, :] = (18, 18, 18)
    step = w // 9
    for k in range(1, 9):
        c = (k * step, h - height // 2 - 4)
        colour = (220, 60, 60) if k == 8 else (200, 200, 200)
        cv2.circle(img, c, max(4, height // 6), colour, 2, cv2.LINE_AA)
        cv2.putText(
            img,
            ["Mute", "Video", "Security", "Participants", "Chat", "Share", "Record", "End"][k - 1],
            (c[0] - 20, h - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.3,
            (200, 200, 200),
            1,
            cv2.LINE_AA,
        )


def _scene_at(spec: CallSpec, t: float) -> Scene:
    current = spec.scenes[0]
    for s in spec.scenes:
        if s.start_s <= t + 1e-9:
            current = s
    return current


def _speaker_at(t: float) -> int:
    """Who is talking (by the active-speaker highlight): turns of 3 s."""
    return int(t // 3.0) % 2


def render_frame(spec: CallSpec, readers: Sequence[_ClipReader], t: float) -> np.ndarray:
    w, h = spec.size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = spec.background
    scene = _scene_at(spec, t)
    speaker = _speaker_at(t)
    colours: tuple[RGB, RGB] = ((90, 120, 200), (200, 120, 90))
    for tile in scene.tiles:
        x, y, tw, th = tile.rect
        if isinstance(tile.who, int):
            pic = _fit(readers[tile.who].at(t + spec.offsets_s[tile.who]), tw, th)
        elif tile.who == CARD:
            who = tile.card_of if tile.card_of is not None else 0
            pic = _card(tw, th, spec.names[who], colours[who])
        elif tile.who == SHARE:
            pic = _share(tw, th)
        else:
            pic = np.full((th, tw, 3), (44, 44, 48), np.uint8)
        if tile.frame_px:
            f = tile.frame_px
            img[max(0, y - f) : y + th + f, max(0, x - f) : x + tw + f] = tile.frame_rgb
        _round_corners(img, pic, x, y, spec.radius_px)
        person = tile.who if isinstance(tile.who, int) else tile.card_of
        if spec.labels and person is not None:
            _label(img, tile.rect, spec.names[person], spec.mute_icon and person != speaker)
        if (
            spec.speaker_border_rgb is not None
            and isinstance(tile.who, int)
            and tile.who == speaker
        ):
            cv2.rectangle(img, (x, y), (x + tw - 1, y + th - 1), spec.speaker_border_rgb, 3)
    if spec.toolbar_px:
        _toolbar(img, spec.toolbar_px)
    return img


def truth_at(spec: CallSpec, t: float) -> tuple[Rect | None, Rect | None]:
    scene = _scene_at(spec, t)
    out: list[Rect | None] = [None, None]
    for tile in scene.tiles:
        if isinstance(tile.who, int):
            out[tile.who] = tile.rect
    return (out[0], out[1])


def _audio_track(
    paths: Sequence[Path], seconds: float, offsets_s: Sequence[float], rate: int = 48000
) -> np.ndarray:
    """Both partners' voices mixed (mono float32 at ``rate``), looped to ``seconds``."""
    n = int(seconds * rate)
    mix = np.zeros(n, np.float32)
    for path, offset in zip(paths, offsets_s, strict=True):
        with av.open(str(path)) as c:
            if not c.streams.audio:
                continue
            res = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = [
                out.to_ndarray().reshape(-1) for f in c.decode(audio=0) for out in res.resample(f)
            ]
            chunks += [out.to_ndarray().reshape(-1) for out in res.resample(None)]
        voice = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        if voice.size == 0:
            continue
        skip = int(offset * rate) % voice.size
        reps = int(np.ceil((n + skip) / voice.size))
        mix += np.tile(voice, reps)[skip : skip + n] * 0.5
    return np.clip(mix, -1.0, 1.0)


def render_call(spec: CallSpec, dest: Path, media_root: Path) -> CallTruth:
    """Write the recording to ``dest`` and return where each partner was on screen."""
    paths = [media_root / p for p in spec.partners]
    readers = [_ClipReader(p) for p in paths]
    times: list[float] = []
    rects: list[tuple[Rect | None, Rect | None]] = []
    try:
        with av.open(str(dest), "w") as container:
            vs = container.add_stream("libx264", rate=spec.fps)
            vs.width, vs.height = spec.size
            vs.pix_fmt = "yuv420p"
            vs.options = {"preset": "ultrafast", "crf": "23"}
            if spec.gop_s is not None:
                vs.codec_context.gop_size = max(1, round(spec.gop_s * spec.fps))
            aus = None
            if spec.audio:
                aus = container.add_stream("aac", rate=48000)
                aus.layout = "mono"
            for k in range(int(spec.seconds * spec.fps)):
                t = k / spec.fps
                frame = av.VideoFrame.from_ndarray(render_frame(spec, readers, t), format="rgb24")
                frame.pts = k
                frame.time_base = Fraction(1, spec.fps)
                for packet in vs.encode(frame):
                    container.mux(packet)
                times.append(t)
                rects.append(truth_at(spec, t))
            for packet in vs.encode():
                container.mux(packet)
            if aus is not None:
                pcm = _audio_track(paths, spec.seconds, spec.offsets_s)
                step = 1024
                for i in range(0, pcm.size, step):
                    chunk = pcm[i : i + step]
                    af = av.AudioFrame.from_ndarray(
                        chunk.reshape(1, -1), format="flt", layout="mono"
                    )
                    af.sample_rate = 48000
                    af.pts = i
                    af.time_base = Fraction(1, 48000)
                    for packet in aus.encode(af):
                        container.mux(packet)
                for packet in aus.encode():
                    container.mux(packet)
    finally:
        for r in readers:
            r.close()
    return CallTruth(times_s=tuple(times), rects=tuple(rects))


# -- layouts as the apps draw them ----------------------------------------------------------------


def gallery_side(w: int, h: int, tile_aspect: float, gap: int, margin: int) -> tuple[Rect, Rect]:
    """Two tiles of ``tile_aspect`` (width/height) side by side, as large as fit, centred."""
    tw = min((w - 2 * margin - gap) // 2, int((h - 2 * margin) * tile_aspect))
    th = int(tw / tile_aspect)
    x0 = (w - (2 * tw + gap)) // 2
    y0 = (h - th) // 2
    return (x0, y0, tw, th), (x0 + tw + gap, y0, tw, th)


def gallery_stacked(w: int, h: int, tile_aspect: float, gap: int, margin: int) -> tuple[Rect, Rect]:
    th = min((h - 2 * margin - gap) // 2, int((w - 2 * margin) / tile_aspect))
    tw = int(th * tile_aspect)
    x0 = (w - tw) // 2
    y0 = (h - (2 * th + gap)) // 2
    return (x0, y0, tw, th), (x0, y0 + th + gap, tw, th)


def grid(
    w: int, h: int, cols: int, rows: int, tile_aspect: float, gap: int, margin: int
) -> list[Rect]:
    tw = min(
        (w - 2 * margin - (cols - 1) * gap) // cols,
        int(((h - 2 * margin - (rows - 1) * gap) // rows) * tile_aspect),
    )
    th = int(tw / tile_aspect)
    x0 = (w - (cols * tw + (cols - 1) * gap)) // 2
    y0 = (h - (rows * th + (rows - 1) * gap)) // 2
    return [
        (x0 + c * (tw + gap), y0 + r * (th + gap), tw, th) for r in range(rows) for c in range(cols)
    ]


def inset(w: int, h: int, frac: float, aspect: float, corner: str, margin: int) -> Rect:
    """A small picture in a corner ("br", "bl", "tr", "tl"), ``frac`` of the frame's width."""
    iw = int(w * frac)
    ih = int(iw / aspect)
    x = w - iw - margin if "r" in corner else margin
    y = h - ih - margin if "b" in corner else margin
    return (x, y, iw, ih)


def standard_calls() -> list[CallSpec]:
    """The recordings the layout tests run: every layout the apps use (15 variants)."""
    d3, d6, d9, d10, d14 = (
        f"talking/liveportrait_{k}.mp4" for k in ("d3", "d6", "d9", "d10", "d14")
    )
    out: list[CallSpec] = []

    # Zoom gallery: 16:9 tiles side by side, letterboxed in 16:9 720p, dark, name labels,
    # an active-speaker border moving between the tiles, mute icons
    a, b = gallery_side(1280, 720, 16 / 9, 8, 10)
    out.append(
        CallSpec(
            "zoom_gallery_720p",
            (1280, 720),
            (Scene(0, (Tile(a, 0), Tile(b, 1))),),
            seconds=10,
            notes="letterboxed 16:9 tiles, dark, border, labels",
        )
    )
    # Zoom gallery stacked in a 16:9 frame: pillarboxed, 16:9 tiles one above the other
    a, b = gallery_stacked(1280, 720, 16 / 9, 6, 8)
    out.append(
        CallSpec(
            "zoom_stacked_720p",
            (1280, 720),
            (Scene(0, (Tile(a, 0), Tile(b, 1)), "stacked"),),
            seconds=10,
            partners=(d10, d6),
            expected_positions=("top", "bottom"),
        )
    )
    # Google Meet, 1080p: 4:3 tiles, rounded corners, Meet's grey background and blue ring
    a, b = gallery_side(1920, 1080, 4 / 3, 16, 24)
    out.append(
        CallSpec(
            "meet_gallery_1080p_4x3",
            (1920, 1080),
            (Scene(0, (Tile(a, 0), Tile(b, 1))),),
            seconds=8,
            partners=(d6, d9),
            background=(32, 33, 36),
            radius_px=14,
            speaker_border_rgb=(138, 180, 248),
            fps=30,
        )
    )
    # Microsoft Teams, light theme: white background, tiles 4 px apart, odd size (1366x768)
    a, b = gallery_side(1366, 768, 16 / 9, 4, 12)
    out.append(
        CallSpec(
            "teams_light_1366x768",
            (1366, 768),
            (Scene(0, (Tile(a, 0), Tile(b, 1))),),
            seconds=10,
            partners=(d3, d14),
            background=(243, 242, 241),
            radius_px=6,
            speaker_border_rgb=(98, 100, 167),
        )
    )
    # Skype in a 4:3 frame: stacked 16:9 tiles on blue, no labels, the encoder's keyframes
    a, b = gallery_stacked(960, 720, 16 / 9, 10, 20)
    out.append(
        CallSpec(
            "skype_stacked_4x3",
            (960, 720),
            (Scene(0, (Tile(a, 0), Tile(b, 1)), "stacked"),),
            seconds=10,
            partners=(d14, d10),
            background=(0, 120, 212),
            labels=False,
            gop_s=None,
            expected_positions=("top", "bottom"),
        )
    )
    # FaceTime on a phone (portrait screen recording): the partner full screen, the self view
    # in a rounded inset top right, no frame; the two smile at each other for a moment
    w, h = 720, 1280
    out.append(
        CallSpec(
            "facetime_portrait",
            (w, h),
            (Scene(0, (Tile((0, 0, w, h), 1), Tile(inset(w, h, 0.3, 3 / 4, "tr", 24), 0)), "pip"),),
            seconds=11,
            partners=(d10, "talking/liveportrait_d13.mp4"),
            offsets_s=(0.0, 1.6),
            labels=False,
            speaker_border_rgb=None,
            radius_px=18,
            fps=30,
            expected_positions=("inset", "center"),
        )
    )
    # WhatsApp on a phone: the self view dragged from bottom right to top left mid-call
    w, h = 540, 1170
    out.append(
        CallSpec(
            "whatsapp_inset_dragged",
            (w, h),
            (
                Scene(
                    0, (Tile((0, 0, w, h), 0), Tile(inset(w, h, 0.32, 3 / 4, "br", 20), 1)), "pip"
                ),
                Scene(
                    6, (Tile((0, 0, w, h), 0), Tile(inset(w, h, 0.32, 3 / 4, "tl", 20), 1)), "pip"
                ),
            ),
            seconds=12,
            partners=(d14, d9),
            labels=False,
            speaker_border_rgb=None,
            radius_px=12,
            expected_positions=("center", "inset"),
        )
    )
    # Zoom speaker view on a laptop: 16:9 main picture, a framed inset bottom right that is
    # resized mid-call
    w, h = 1280, 720
    out.append(
        CallSpec(
            "zoom_speaker_resized",
            (w, h),
            (
                Scene(
                    0,
                    (
                        Tile((0, 0, w, h), 0),
                        Tile(inset(w, h, 0.22, 16 / 9, "br", 16), 1, frame_px=2),
                    ),
                    "pip",
                ),
                Scene(
                    6,
                    (
                        Tile((0, 0, w, h), 0),
                        Tile(inset(w, h, 0.3, 16 / 9, "br", 16), 1, frame_px=2),
                    ),
                    "pip",
                ),
            ),
            seconds=12,
            partners=(d10, d14),
            speaker_border_rgb=None,
            expected_positions=("center", "inset"),
        )
    )
    # A 2x2 grid: two partners, a third participant's camera-off name card, an empty tile
    cells = grid(1280, 720, 2, 2, 16 / 9, 6, 8)
    out.append(
        CallSpec(
            "zoom_grid_2x2_two_people",
            (1280, 720),
            (
                Scene(
                    0,
                    (
                        Tile(cells[0], 0),
                        Tile(cells[1], CARD),
                        Tile(cells[2], EMPTY),
                        Tile(cells[3], 1),
                    ),
                    "grid",
                ),
            ),
            seconds=10,
            partners=(d6, d3),
        )
    )
    # Three tiles in a row, a screen share between the two partners (Teams, dark)
    cells = grid(1280, 720, 3, 1, 16 / 9, 6, 8)
    out.append(
        CallSpec(
            "teams_three_tiles_share",
            (1280, 720),
            (Scene(0, (Tile(cells[0], 0), Tile(cells[1], SHARE), Tile(cells[2], 1)), "grid"),),
            seconds=10,
            background=(41, 41, 41),
        )
    )
    # Gallery, then speaker view, then gallery again (Zoom, 720p)
    w, h = 1280, 720
    a, b = gallery_side(w, h, 16 / 9, 8, 10)
    out.append(
        CallSpec(
            "zoom_gallery_speaker_gallery",
            (w, h),
            (
                Scene(0, (Tile(a, 0), Tile(b, 1))),
                Scene(
                    5,
                    (
                        Tile((0, 0, w, h), 1),
                        Tile(inset(w, h, 0.22, 16 / 9, "tr", 16), 0, frame_px=2),
                    ),
                    "pip",
                ),
                Scene(10, (Tile(a, 0), Tile(b, 1))),
            ),
            seconds=15,
        )
    )
    # The partners switch between gallery and speaker view every 2.5 s (Zoom, 720p)
    a, b = gallery_side(w, h, 16 / 9, 8, 10)
    speaker = (Tile((0, 0, w, h), 1), Tile(inset(w, h, 0.22, 16 / 9, "tr", 16), 0, frame_px=2))
    out.append(
        CallSpec(
            "zoom_view_toggled",
            (w, h),
            tuple(
                Scene(
                    k * 2.5,
                    (Tile(a, 0), Tile(b, 1)) if k % 2 == 0 else speaker,
                    "side-by-side" if k % 2 == 0 else "pip",
                )
                for k in range(5)
            ),
            seconds=12.5,
            partners=(d6, d10),
        )
    )
    # A partner's camera off for 4 s (a name card), then the tiles change places (Meet)
    a, b = gallery_side(1280, 720, 16 / 9, 10, 12)
    out.append(
        CallSpec(
            "meet_camera_off_then_swap",
            (1280, 720),
            (
                Scene(0, (Tile(a, 0), Tile(b, 1))),
                Scene(3, (Tile(a, 0), Tile(b, CARD, card_of=1))),
                Scene(7, (Tile(a, 0), Tile(b, 1))),
                Scene(10, (Tile(a, 1), Tile(b, 0))),
            ),
            seconds=14,
            partners=(d10, d9),
            background=(32, 33, 36),
            radius_px=12,
            speaker_border_rgb=(138, 180, 248),
        )
    )
    # A screen recording with the meeting toolbar, tiles touching without a gap, 854x480
    a, b = gallery_side(854, 480 - 40, 16 / 9, 0, 0)
    out.append(
        CallSpec(
            "recorder_toolbar_no_gap_480p",
            (854, 480),
            (Scene(0, (Tile(a, 0), Tile(b, 1))),),
            seconds=10,
            toolbar_px=40,
            background=(12, 12, 12),
            speaker_border_rgb=(250, 200, 30),
        )
    )
    # Zoom's speaker view with the thumbnail strip above the speaker (no overlap), 1080p
    w, h = 1920, 1080
    strip_h = 150
    main_h = h - strip_h - 32
    main_w = int(main_h * 16 / 9)
    thumb = (w // 2 - 133, 8, 266, strip_h)
    out.append(
        CallSpec(
            "zoom_speaker_strip_1080p",
            (w, h),
            (
                Scene(
                    0,
                    (Tile(thumb, 0), Tile(((w - main_w) // 2, strip_h + 24, main_w, main_h), 1)),
                    "pip",
                ),
            ),
            seconds=8,
            partners=(d3, d6),
            expected_positions=("inset", "center"),
        )
    )
    # A phone's portrait screen recording, stacked tiles that the app swaps mid-call
    a, b = gallery_stacked(720, 1280, 9 / 8, 6, 10)
    out.append(
        CallSpec(
            "phone_stacked_swap",
            (720, 1280),
            (
                Scene(0, (Tile(a, 0), Tile(b, 1)), "stacked"),
                Scene(6, (Tile(a, 1), Tile(b, 0)), "stacked"),
            ),
            seconds=12,
            background=(10, 10, 10),
            radius_px=20,
            expected_positions=("top", "bottom"),
        )
    )
    return out
