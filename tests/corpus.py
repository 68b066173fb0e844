"""Malformed and awkward inputs, built from real media in ../shared/media: truncated files, lost
indexes, garbage in the middle, empty streams, pixel bombs, tiny and 8K pictures, audio only,
wrong names, rotated photos, variable frame rates, several streams, devices and pipes.

``build_corpus(dest)`` writes them and returns one ``Case`` each: what the file is and what
`presence analyze` must do with it: refuse it (exit 2, one line that says why), or analyze it
(exit 0, or 4 when nobody is in it), possibly with a warning. Nothing in here is a hard-coded
result of the analysis: only whether and why a file is refused.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from tests.clips import video_frames, write_clip
from tests.conftest import media


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    refused: str | None = None  # a phrase of the one-line error when it must be refused
    warning: str | None = None  # a phrase of a warning the analysis must give
    person: bool = True  # someone is in it (else exit 4 is right too)


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, side: int = 12000) -> Path:
    """A grey PNG declaring side x side pixels: a few hundred kB that decode to side**2 bytes."""
    raw = zlib.compressobj(9)
    row = b"\x00" + bytes(side)  # filter byte + one grey row
    body = b"".join(raw.compress(row) for _ in range(side)) + raw.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body)
    return _bytes(path, data + _png_chunk(b"IEND", b""))


def jpeg_bomb(path: Path, side: int = 30000) -> Path:
    """A real small JPEG whose frame header (SOF) is made to declare side x side pixels."""
    ok, enc = cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))
    assert ok
    data = bytearray(enc.tobytes())
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5 : i + 7] = side.to_bytes(2, "big")  # height
            data[i + 7 : i + 9] = side.to_bytes(2, "big")  # width
            break
        i += 2 + length
    return _bytes(path, bytes(data))


def webp_bomb(path: Path) -> Path:
    """A WebP whose extended header declares its canvas 16383 x 16383 (the format's largest)."""
    vp8 = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    w = h = 16383
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (w - 1).to_bytes(3, "little")
    vp8x += (h - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + vp8
    return _bytes(path, b"RIFF" + struct.pack("<I", len(body)) + body)


def y4m_bomb(path: Path) -> Path:
    """A raw video stream whose header declares 12000 x 12000 frames (and holds none)."""
    return _bytes(path, b"YUV4MPEG2 W12000 H12000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))


def _reencode(
    src: Path,
    dest: Path,
    seconds: float,
    size: tuple[int, int] | None = None,
    fps: int = 25,
    fmt: str | None = None,
    codec: str = "libx264",
) -> Path:
    frames = [
        f if size is None else cv2.resize(f, size)
        for f in video_frames(src, limit=int(seconds * 25))
    ]
    options = {"movflags": "faststart"} if dest.suffix == ".mp4" else {}
    with av.open(str(dest), "w", format=fmt, options=options) as c:
        s = c.add_stream(codec, rate=fps)
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return dest


def _garbage_middle(src: Path, dest: Path, share: float = 0.1) -> Path:
    data = bytearray(src.read_bytes())
    n = len(data)
    rng = np.random.default_rng(7)
    a = n // 2
    data[a : a + int(n * share)] = rng.integers(0, 256, int(n * share), dtype=np.uint8).tobytes()
    return _bytes(dest, bytes(data))


def remux(src: Path, dest: Path, kind: str = "video", container: str | None = None) -> Path:
    """Copy the first ``kind`` ("video" or "audio") stream's packets of ``src`` into ``dest``'s
    container (``container``: its format, when the name does not say; no re-encoding)."""
    with av.open(str(src)) as inp, av.open(str(dest), "w", format=container) as out:
        s_in = getattr(inp.streams, kind)[0]
        s_out = out.add_stream_from_template(s_in)
        for packet in inp.demux(s_in):
            if packet.dts is None:
                continue
            packet.stream = s_out
            out.mux(packet)
    return dest


def _audio_only(dest: Path) -> Path:
    return remux(media("talking/WDA_KatieHill_000.mp4"), dest, kind="audio")


def _two_video_streams(dest: Path) -> Path:
    frames = video_frames(media("talking/WDA_KatieHill_000.mp4"), limit=75)
    small = [cv2.resize(f, (160, 160)) for f in frames]
    with av.open(str(dest), "w") as c:
        s1 = c.add_stream("libx264", rate=25)
        s2 = c.add_stream("libx264", rate=25)
        s1.width = s1.height = 512
        s2.width = s2.height = 160
        s1.pix_fmt = s2.pix_fmt = "yuv420p"
        for big, little in zip(frames, small, strict=True):
            for stream, img in ((s1, big), (s2, little)):
                for p in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
        for stream in (s1, s2):
            for p in stream.encode():
                c.mux(p)
    return dest


def _exif_rotated(dest: Path) -> Path:
    """A real photo stored sideways with an EXIF orientation saying to turn it upright."""
    from PIL import Image

    img = Image.open(media("gaze/zoombi_real_005.jpg")).convert("RGB")
    sideways = img.transpose(Image.Transpose.ROTATE_90)  # stored turned a quarter left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    sideways.save(dest, "JPEG", exif=exif.tobytes(), quality=90)
    return dest


def _vfr(dest: Path) -> Path:
    frames = video_frames(media("talking/WDA_KatieHill_000.mp4"), limit=150)
    pts, t = [], 0
    for k in range(len(frames)):
        pts.append(t)
        t += 20 if k % 3 else 70  # 50 fps and 14 fps in turn
    return write_clip(dest, frames, fps=30, pts_ms=pts)


def _eight_k(dest: Path) -> Path:
    """8K (7680x4320) frames: the square clip upright in the middle, pillarboxed."""
    frames = video_frames(media("talking/WDA_KatieHill_000.mp4"), limit=3)
    big = []
    for f in frames:
        canvas = np.zeros((4320, 7680, 3), np.uint8)
        canvas[:, 1680:6000] = cv2.resize(f, (4320, 4320), interpolation=cv2.INTER_LINEAR)
        big.append(canvas)
    return write_clip(dest, big, fps=1)


def _eight_k_image(dest: Path) -> Path:
    img = cv2.imread(str(media("posture/fr_two_people.jpg")))
    cv2.imwrite(str(dest), cv2.resize(img, (7680, 4320)), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return dest


def _header_only(src: Path, dest: Path) -> Path:
    """A Matroska file cut just after its header: streams declared, no frames survive."""
    whole = remux(src, dest.with_suffix(".whole.mkv"), container="matroska")
    data = whole.read_bytes()
    whole.unlink()
    return _bytes(dest, data[:1200])


def build_corpus(dest: Path) -> list[Case]:
    """Write the corpus into ``dest`` (a fresh folder) and return its cases."""
    dest.mkdir(parents=True, exist_ok=True)
    clip = media("talking/WDA_KatieHill_000.mp4")  # 8 s, moov at the end, with sound
    data = clip.read_bytes()
    moov = data.rfind(b"moov") - 4
    cases: list[Case] = []

    def add(name: str, make: Callable[[Path], Path], **expect: object) -> None:
        cases.append(Case(name, make(dest / name), **expect))  # type: ignore[arg-type]

    faststart = _reencode(clip, dest / "_fast.mp4", 8.0)  # its own index written first
    # truncated: the index at the end is lost, or the data are cut short
    add("cut_10pc.mp4", lambda p: _bytes(p, data[: len(data) // 10]), refused="incomplete")
    add("cut_before_index.mp4", lambda p: _bytes(p, data[:moov]), refused="incomplete")
    fast = faststart.read_bytes()
    add(
        "fast_cut_half.mp4",
        lambda p: _bytes(p, fast[: len(fast) // 2]),
        warning="probably truncated",
    )
    add(
        "fast_cut_90pc.mp4",
        lambda p: _bytes(p, fast[: len(fast) * 9 // 10]),
        warning="probably truncated",
    )
    add(
        "index_only.mp4",
        lambda p: _bytes(p, fast[: fast.find(b"mdat") + 16]),
        refused="no frame could be decoded",
    )
    # garbage in the middle, in three containers
    add("garbage_middle.mp4", lambda p: _garbage_middle(clip, p), warning="damaged from")
    mkv = _reencode(clip, dest / "_clip.mkv", 8.0, fmt="matroska")
    add("garbage_middle.mkv", lambda p: _garbage_middle(mkv, p), warning="damaged")
    ts = _reencode(clip, dest / "_clip.ts", 8.0, fmt="mpegts")
    add("garbage_middle.ts", lambda p: _garbage_middle(ts, p), warning="damaged")
    # nothing in it
    add("empty.mp4", lambda p: _bytes(p, b""), refused="empty")
    add(
        "header_only.mkv", lambda p: _header_only(faststart, p), refused="no frame could be decoded"
    )
    add(
        "random_bytes.bin",
        lambda p: _bytes(p, np.random.default_rng(3).bytes(200_000)),
        refused="not a readable",
    )
    add(
        "text.mp4",
        lambda p: _bytes(p, b"just some text, not a video\n" * 100),
        refused="not a readable",
    )
    add("audio_only.m4a", _audio_only, refused="no video stream")
    # pixel bombs and impossible sizes, declared in headers
    add("bomb.png", png_bomb, refused="million")
    add("bomb.jpg", jpeg_bomb, refused="million")
    add("bomb.webp", webp_bomb, refused="million")
    add("bomb.y4m", y4m_bomb, refused="million")
    add("bomb_png_named.mp4", png_bomb, refused="million")
    add(
        "one_pixel.png",
        lambda p: _bytes(p, cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tobytes()),
        refused="too small",
    )
    add(
        "one_pixel_video.mp4",
        lambda p: write_clip(p, [np.zeros((2, 2, 3), np.uint8)] * 5),
        refused="too small",
    )
    add("tiny_video.mp4", lambda p: _reencode(clip, p, 1.0, size=(24, 24)), person=False)
    # large but real
    add("eight_k.mp4", _eight_k)
    add("eight_k.jpg", _eight_k_image)
    # broken images
    jpg = media("gaze/zoombi_real_005.jpg").read_bytes()
    add("truncated.jpg", lambda p: _bytes(p, jpg[: len(jpg) // 2]), refused="cannot decode")
    png = cv2.imencode(".png", cv2.imread(str(media("gaze/zoombi_real_005.jpg"))))[1].tobytes()
    add(
        "bad_crc.png",
        lambda p: _bytes(p, png[:40] + bytes([png[40] ^ 0xFF]) + png[41:]),
        refused="cannot decode",
    )
    add(
        "broken_header.jpg",
        lambda p: _bytes(p, b"\xff\xd8\xff\xe0 broken jpeg"),
        refused="cannot decode",
    )
    # wrong names, and names that are only names
    add("video_named.jpg", lambda p: _bytes(p, data))
    add("photo_named.mp4", lambda p: _bytes(p, jpg))
    add("ünïcode name (1).mp4", lambda p: _bytes(p, fast))
    # awkward but fine
    add("exif_rotated.jpg", _exif_rotated)
    add("vfr.mp4", _vfr)
    add("two_video_streams.mp4", _two_video_streams)
    add(
        "old_avi_grey_first_frame.avi",
        lambda p: _bytes(p, media("conversation/laeo_tvhid_highFive_0016.avi").read_bytes()),
    )
    add("gif_photo.gif", lambda p: _gif(p))
    # not files at all
    fifo = dest / "pipe.mp4"
    os.mkfifo(fifo)
    cases.append(Case("pipe.mp4", fifo, refused="not a regular file"))
    zero = dest / "device.mp4"
    zero.symlink_to("/dev/zero")
    cases.append(Case("device.mp4", zero, refused="not a regular file"))
    for helper in ("_fast.mp4", "_clip.mkv", "_clip.ts"):
        (dest / helper).unlink()
    return cases


def _gif(dest: Path) -> Path:
    from PIL import Image

    Image.open(media("gaze/zoombi_real_005.jpg")).convert("P").save(dest, "GIF")
    return dest
