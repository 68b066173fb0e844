"""Frame sources: video files, still images and cameras, each a context manager yielding ``Frame``s.

Video files are decoded with PyAV so that timestamps are the container's presentation times
(variable frame rate works), rotation metadata is applied, and a decode error part-way through is
reported rather than silently ending the video. Frames are streamed: memory does not depend on the
length of the video.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import cv2
import numpy as np

from analyzer.errors import InputError
from analyzer.limits import MAX_PIXELS, check_frame_size, checked_image_size
from analyzer.types import Frame, ImageArray, SourceKind, VideoInfo

KeepFn = Callable[[int], bool]
APPROACH_S = 0.3  # a quick look decodes every frame only this close to the moment it wants
# FFmpeg renders text files as "video" (ANSI art); such a file is not a recording.
TEXT_AS_VIDEO_CODECS = frozenset({"ansi", "bintext", "xbin", "idf", "text"})


class FrameSource(Protocol):
    info: VideoInfo
    warnings: list[str]

    def frames(self, keep: KeepFn | None = None, rate_fps: float | None = None) -> Iterator[Frame]:
        """Decoded frames in order; with ``keep``, only those whose timestamp it accepts.

        ``rate_fps`` is the rate the caller needs: a video source may then skip decoding frames
        that no other frame depends on, as long as it still delivers well above that rate."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _ClosingMixin:
    def close(self) -> None:  # pragma: no cover - overridden where something is held
        return None

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def rotate_display(rgb: ImageArray, rotation_deg: int) -> ImageArray:
    """Apply a display rotation (counter-clockwise degrees, a multiple of 90)."""
    k = (round(rotation_deg / 90.0)) % 4
    if k == 0:
        return rgb
    return np.ascontiguousarray(np.rot90(rgb, k=k))


@dataclass
class ImageSource(_ClosingMixin):
    """A still image: one frame at time 0. EXIF orientation is applied by OpenCV. With
    ``decode=False`` only its header is checked (``info`` from the header; no frames)."""

    path: Path
    decode: bool = True
    info: VideoInfo = field(init=False)
    warnings: list[str] = field(default_factory=list)
    _rgb: ImageArray = field(init=False)

    def __post_init__(self) -> None:
        # from the header, before decoding
        width, height = checked_image_size(self.path, str(self.path))
        if not self.decode:
            self._rgb = np.zeros((0, 0, 3), np.uint8)
            self.info = VideoInfo(
                name=self.path.name,
                kind=SourceKind.IMAGE,
                width=width,
                height=height,
                fps=None,
                duration_s=None,
            )
            return
        data = np.fromfile(self.path, dtype=np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if bgr is None:
            raise InputError(
                f"{self.path}: cannot decode the image (corrupt or unsupported format)"
            )
        self._rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        h, w = self._rgb.shape[:2]
        self.info = VideoInfo(
            name=self.path.name, kind=SourceKind.IMAGE, width=w, height=h, fps=None, duration_s=None
        )

    def frames(self, keep: KeepFn | None = None, rate_fps: float | None = None) -> Iterator[Frame]:
        if self.decode:
            yield Frame(index=0, timestamp_ms=0, rgb=self._rgb)


@dataclass
class _DecodeState:
    """Where decoding a video stands: frame count, time, and damage met on the way."""

    fallback_dt: float
    index: int = -1
    first_time: float | None = None
    last_ms: int = -1
    damaged_from: int | None = None  # ms: a damaged stretch began here and has not ended
    bad_packets: int = 0
    stopped: str | None = None  # why the container could not be read further
    after_damage: bool = False  # the gap that follows damage is already reported

    def advance(self, source: VideoFileSource, av_frame: Any) -> None:
        self.index += 1
        t = av_frame.time if av_frame.time is not None else self.index * self.fallback_dt
        if self.first_time is None:
            self.first_time = t
        ts_ms = round((t - self.first_time) * 1000.0)
        if ts_ms <= self.last_ms:  # duplicate or out-of-order timestamp: keep time moving
            ts_ms = self.last_ms + 1
        max_gap_ms = max(1000.0, 10_000.0 * self.fallback_dt)
        if self.last_ms >= 0 and ts_ms - self.last_ms > max_gap_ms and not self.after_damage:
            source._gap_warning(self.last_ms, ts_ms)
        self.after_damage = False
        self.last_ms = ts_ms

    def close_damage(self, source: VideoFileSource, until_ms: int | None) -> None:
        start = (self.damaged_from or 0) / 1000.0
        end = "the end" if until_ms is None else f"{until_ms / 1000.0:.1f} s"
        source.warnings.append(
            f"the video is damaged from {start:.1f} s to {end} ({self.bad_packets} packet(s) "
            f"could not be decoded); that stretch is not analyzed"
        )
        self.damaged_from = None
        self.bad_packets = 0
        self.after_damage = True


class VideoFileSource(_ClosingMixin):
    """A video file decoded with PyAV. ``probe_rotation=False`` reads headers only (nothing
    is decoded; a rotation known only from the first frame is then taken as 0)."""

    def __init__(self, path: Path, *, probe_rotation: bool = True) -> None:
        import av  # local: keeps `presence --help` fast

        self.path = path
        self.warnings: list[str] = []
        self._keyframes: list[float] | None = None
        self.decoded_s: float | None = None  # how much decoded, once ``frames`` has ended
        self.origin_s: float | None = None  # the stream time of the first frame: time 0
        try:
            self._container = av.open(str(path))
        except (av.error.FFmpegError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not a readable image or video ({_ffmpeg_reason(e)})") from e
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{path}: not a video (the file has no video stream)")
        self._stream = self._container.streams.video[0]
        if self._stream.codec_context.name in TEXT_AS_VIDEO_CODECS:
            self._container.close()
            raise InputError(f"{path}: not a readable image or video (it looks like a text file)")
        self._stream.thread_type = "AUTO"
        cc = self._stream.codec_context
        width, height = int(cc.width or 0), int(cc.height or 0)
        try:
            check_frame_size(width, height, f"{path}: the video stream")
        except InputError:
            self._container.close()
            raise
        rotation = self._probe_rotation() if probe_rotation else 0
        if rotation % 180 != 0:
            width, height = height, width
        fps = float(self._stream.average_rate) if self._stream.average_rate else None
        duration_s = None
        if self._stream.duration is not None and self._stream.time_base is not None:
            duration_s = float(self._stream.duration * self._stream.time_base)
        elif self._container.duration is not None:
            duration_s = self._container.duration / 1_000_000.0
        self.rotation_deg = rotation
        self.info = VideoInfo(
            name=path.name,
            kind=SourceKind.VIDEO,
            width=width,
            height=height,
            fps=fps,
            duration_s=duration_s,
            rotation_deg=rotation,
        )

    def _probe_rotation(self) -> int:
        """The display rotation, read from the first frame's display matrix; the stream is reset."""
        import av

        try:
            for frame in self._container.decode(self._stream):
                rot = round(getattr(frame, "rotation", 0) or 0)
                self.origin_s = frame.time
                break
            else:
                rot = 0
            self._container.seek(0, stream=self._stream)
        except av.error.FFmpegError:
            rot = 0
            with contextlib.suppress(av.error.FFmpegError):
                self._container.seek(0, stream=self._stream)
        return rot % 360

    def frames(
        self,
        keep: KeepFn | None = None,
        rate_fps: float | None = None,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> Iterator[Frame]:
        """Decoded frames (see ``FrameSource``). Decoding goes packet by packet: a damaged
        stretch (packets that do not decode) is skipped up to the next keyframe, with a warning
        that names it, and decoding goes on after it. ``decoded_s`` is then how much of the
        video was actually decoded.

        ``start_s``/``end_s``: only the frames from ``start_s`` (decoding from the keyframe
        before it; ``keep`` sees the frames before it too, so it chooses as from the start) to
        before ``end_s``, timed from the video's first frame as in a whole run. A range is part
        of a run: it raises nothing for having no frames and warns of a truncated file only if
        it runs to the end."""
        stream = self._stream
        state = _DecodeState(fallback_dt=1.0 / (self.info.fps or 30.0))
        start_ms = -1.0 if start_s is None else start_s * 1000.0
        end_ms = math.inf if end_s is None else end_s * 1000.0
        if start_s is not None and start_s > 0 and self.origin_s is not None:
            state.first_time = self.origin_s
            base = stream.time_base or Fraction(1, 1_000_000)
            self._container.seek(int((self.origin_s + start_s) / base), stream=stream)
        skipping = rate_fps is not None and (self.info.fps or 0.0) >= 2.5 * rate_fps
        if skipping:
            # Non-reference frames (most B-frames) are decoded for nothing when only every
            # third frame is analyzed; skipping them saves ~40% of decoding on such streams.
            stream.codec_context.skip_frame = "NONREF"
        first_ms: int | None = None
        for av_frame in self._decoded(state):
            index, ts_ms = state.index, state.last_ms
            if ts_ms >= end_ms:
                break
            if first_ms is None:
                first_ms = ts_ms
            if skipping and ts_ms - first_ms >= 2000 and rate_fps is not None:
                skipping = False  # checked once, after 2 s of video
                if (index + 1) / ((ts_ms - first_ms) / 1000.0) < 1.2 * rate_fps:
                    stream.codec_context.skip_frame = "DEFAULT"  # too few left: decode all
            if keep is not None and not keep(ts_ms):
                continue
            if ts_ms < start_ms:
                continue
            if av_frame.width * av_frame.height > MAX_PIXELS:  # the stream grew part-way
                self.warnings.append(
                    f"the video's pictures grow to {av_frame.width}x{av_frame.height} at "
                    f"{ts_ms / 1000.0:.1f} s, more than is analyzed; analyzed up to there"
                )
                return
            rgb: ImageArray = np.asarray(av_frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            yield Frame(index=index, timestamp_ms=ts_ms, rgb=rotate_display(rgb, self.rotation_deg))
        if start_s is None and end_s is None:
            self._finish(state)
        elif end_s is None and state.index >= 0:
            self._finish(state, whole=False)

    def _decoded(self, state: _DecodeState) -> Iterator[Any]:
        """PyAV frames in order, packet by packet; damaged packets skipped to the next keyframe."""
        import av

        stream = self._stream
        packets = self._container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as e:  # the container itself is damaged here
                state.stopped = _ffmpeg_reason(e)
                break
            if state.damaged_from is not None and not packet.is_keyframe:
                continue  # after damage, frames before the next keyframe would be garbage
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                state.bad_packets += 1
                if state.damaged_from is None:
                    state.damaged_from = max(0, state.last_ms)
                continue
            for av_frame in decoded:
                if state.damaged_from is not None:
                    if not av_frame.key_frame:
                        continue
                    state.close_damage(self, self._time_ms(av_frame, state))
                state.advance(self, av_frame)
                yield av_frame
        if state.damaged_from is not None:  # damaged to the end
            state.close_damage(self, None)

    def _time_ms(self, av_frame: Any, state: _DecodeState) -> int:
        t = av_frame.time if av_frame.time is not None else (state.index + 1) * state.fallback_dt
        if state.first_time is None:
            return 0
        return round((t - state.first_time) * 1000.0)

    def _finish(self, state: _DecodeState, *, whole: bool = True) -> None:
        if state.index < 0 and whole:
            reason = f" ({state.stopped})" if state.stopped else ""
            raise InputError(
                f"{self.path}: no frame could be decoded{reason}; the video is empty, truncated "
                f"or damaged"
            )
        if state.stopped:
            self.warnings.append(
                f"video decoding stopped at {state.last_ms / 1000.0:.1f} s ({state.stopped}); "
                f"analyzed up to there"
            )
        self.decoded_s = state.last_ms / 1000.0 + state.fallback_dt
        dur = self.info.duration_s
        if dur is not None and self.decoded_s < dur - max(1.0, 3 * state.fallback_dt):
            self.warnings.append(
                f"the video ends at {state.last_ms / 1000.0:.1f} s but its header says "
                f"{dur:.1f} s; it is probably truncated and was analyzed as far as it decodes"
            )

    def keyframe_times_s(self) -> list[float]:
        """Times of the video's keyframes (seconds from its start), read once from the packet
        index without decoding: where a seek lands."""
        if self._keyframes is None:
            import av

            times: list[float] = []
            try:
                with av.open(str(self.path)) as container:
                    stream = container.streams.video[0]
                    start = (
                        float(stream.start_time * stream.time_base) if stream.start_time else 0.0
                    )
                    for packet in container.demux(stream):
                        if packet.is_keyframe and packet.pts is not None:
                            times.append(float(packet.pts * stream.time_base) - start)
            except av.error.FFmpegError:
                pass  # a damaged index: seeks will find their own way
            self._keyframes = sorted(times)
        return self._keyframes

    def decoded_duration_s(self) -> float | None:
        """The length of the video as decoded, where it is clearly shorter than its header
        says (truncated, or damaged to the end); else the header's."""
        dur = self.info.duration_s
        if self.decoded_s is not None and (dur is None or self.decoded_s < dur - 1.0):
            return round(self.decoded_s, 3)
        return dur

    def _gap_warning(self, from_ms: int, to_ms: int) -> None:
        gaps = [w for w in self.warnings if w.startswith("no video frames")]
        if len(gaps) < 5:
            self.warnings.append(
                f"no video frames between {from_ms / 1000:.1f} s and {to_ms / 1000:.1f} s "
                f"(damaged file or paused recording); that span is not analyzed"
            )

    def close(self) -> None:
        self._container.close()


class CameraSource(_ClosingMixin):
    """A live camera by index, timestamped with a monotonic clock."""

    def __init__(self, index: int, max_frames: int | None = None) -> None:
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            raise InputError(f"camera {index}: cannot be opened (is it connected and free?)")
        self.warnings: list[str] = []
        self._max_frames = max_frames
        w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or None
        self.info = VideoInfo(
            name=f"camera {index}",
            kind=SourceKind.CAMERA,
            width=w,
            height=h,
            fps=fps,
            duration_s=None,
        )

    def frames(self, keep: KeepFn | None = None, rate_fps: float | None = None) -> Iterator[Frame]:
        start = time.monotonic()
        index = 0
        last_ms = -1
        while self._max_frames is None or index < self._max_frames:
            ok, bgr = self._cap.read()
            if not ok:
                break
            ts_ms = max(int((time.monotonic() - start) * 1000.0), last_ms + 1)
            last_ms = ts_ms
            if keep is not None and not keep(ts_ms):
                continue
            yield Frame(index=index, timestamp_ms=ts_ms, rgb=np.ascontiguousarray(bgr[:, :, ::-1]))
            index += 1

    def close(self) -> None:
        self._cap.release()


def _ffmpeg_reason(e: BaseException) -> str:
    msg = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return str(msg).strip().rstrip(".").splitlines()[0]


def open_source(spec: str | Path, *, decode: bool = True) -> FrameSource:
    """Open a camera index (``"0"``), a still image, or a video file, with one-line errors.
    Whether a file is an image or a video is told from its content, not its name.

    ``decode=False`` makes every check that needs headers alone and decodes nothing (for a
    service checking what it receives); the source is then for its checks and ``info`` only."""
    text = str(spec)
    if text.isdigit():
        return CameraSource(int(text))
    path = Path(text)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected an image or video file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a device or a pipe cannot be analyzed)")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror})") from e
    if size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes)")
    if _looks_like_image(path):
        return ImageSource(path, decode=decode)
    try:
        return VideoFileSource(path, probe_rotation=decode)
    except InputError:
        if _is_mp4(head) and not _has_index(path):
            raise InputError(
                f"{path}: the recording is incomplete: its index (the 'moov' part an MP4 or MOV "
                f"file gets when recording stops) is missing, so the recorder probably stopped "
                f"before it finished the file; a repair tool that rebuilds the index from a good "
                f"recording of the same app (such as untrunc) may recover it"
            ) from None
        raise


IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF
    b"MM\x00*",
)


def _looks_like_image(path: Path) -> bool:
    """An image by its first bytes or by Pillow reading its header (a name is not trusted)."""
    from PIL import Image, UnidentifiedImageError

    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    try:
        with Image.open(path) as img:
            return img.format not in (None, "MPEG")
    except Image.DecompressionBombError:
        return True  # an image, and too large: ImageSource says so
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def _is_mp4(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] == b"ftyp"


def _has_index(path: Path) -> bool:
    """Whether an MP4/MOV file has its 'moov' box (top-level boxes walked, nothing decoded)."""
    with path.open("rb") as f:
        while True:
            header = f.read(8)
            if len(header) < 8:
                return False
            size = int.from_bytes(header[:4], "big")
            kind = header[4:8]
            if kind == b"moov":
                return True
            if size == 1:  # a 64-bit size follows the type
                size, read = int.from_bytes(f.read(8), "big"), 16
            else:
                read = 8
            if size < read:  # 0 (to the end of the file) or corrupt
                return False
            f.seek(size - read, 1)


@dataclass
class RateSampler:
    """Keeps about ``fps`` frames per second of video time, whatever the source's frame rate:
    the first frame of each ``1/fps`` slot of the video's own time (slots counted from time 0).

    The choice depends on a frame's time and the frame decoded before it only, so a process
    that starts decoding part-way through a video (a segment of a parallel analysis, decoding
    from a little before its start) keeps exactly the frames a run from the start keeps."""

    fps: float
    _last_slot: int | None = field(default=None, init=False)

    def slot(self, timestamp_ms: float) -> int:
        """Which ``1/fps`` slot of video time a frame at ``timestamp_ms`` falls in."""
        return math.floor((timestamp_ms + 0.5) * self.fps / 1000.0)

    def keep(self, timestamp_ms: int) -> bool:
        slot = self.slot(timestamp_ms)
        new = slot != self._last_slot
        self._last_slot = slot
        return new


class Prefetch:
    """Decode ahead in a background thread (PyAV releases the GIL while decoding), at most
    ``depth`` frames ahead, so decoding overlaps with the models. Errors surface in the caller."""

    _END = object()

    def __init__(self, frames: Iterator[Frame], depth: int = 4) -> None:
        self._frames = frames
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="decode", daemon=True)

    def _run(self) -> None:
        try:
            for frame in self._frames:
                while not self._stop.is_set():
                    try:
                        self._queue.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            item: object = self._END
        except BaseException as e:  # handed to the consumer, raised there
            item = e
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is self._END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, Frame)
                yield item
        finally:
            self._stop.set()
            self._thread.join()


@dataclass(frozen=True)
class Moment:
    """A frame at a moment of a video (its time from the video's start) and, when asked for, a
    second one a little later, for telling what moves from what stands still."""

    timestamp_ms: int
    frames: tuple[ImageArray, ...]


def sample_moments(
    source: FrameSource,
    times_s: Sequence[float],
    *,
    follow_s: float = 0.0,
    long_side_px: int | None = None,
) -> list[Moment]:
    """``iter_moments`` as a list (for a few moments)."""
    return list(iter_moments(source, times_s, follow_s=follow_s, long_side_px=long_side_px))


def iter_moments(
    source: FrameSource,
    times_s: Sequence[float],
    *,
    follow_s: float = 0.0,
    long_side_px: int | None = None,
    snap_s: float = 0.0,
) -> Iterator[Moment]:
    """Frames at (or just after) each of ``times_s``, in order, for a quick look before the
    analysis; with ``follow_s``, each moment also has the frame that much later. With
    ``long_side_px`` the decoder scales the frames down to that (memory holds small copies
    only). With ``snap_s``, a moment moves back to a keyframe at most that much earlier, which
    decodes alone (cheap where keyframes are close).

    Video files are reopened and sought (the source itself is not moved); an image gives its one
    frame at time 0; a camera gives none. A decoding error ends the look early: the analysis
    itself reports decode problems."""
    if isinstance(source, ImageSource):
        yield Moment(0, tuple(_smaller(f.rgb, long_side_px) for f in source.frames()))
        return
    if not isinstance(source, VideoFileSource):
        return
    import av

    last_ms = -1
    keyframes = source.keyframe_times_s()
    try:
        with av.open(str(source.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            cc = stream.codec_context
            start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
            frames: Iterator[av.VideoFrame] | None = None
            at = -math.inf  # time of the last frame decoded
            for t in sorted(times_s):
                # a seek lands on the keyframe before ``t``: decoding on from where we are is
                # cheaper unless that keyframe lies ahead of us (keyframes can be far apart)
                k = bisect_right(keyframes, t + 1e-6) - 1
                landing = keyframes[k] if k >= 0 else 0.0
                if landing > at and t - landing <= snap_s:
                    t = landing
                if frames is None or not landing <= at < t:
                    container.seek(int((start + t) / stream.time_base), stream=stream)
                    frames = iter(container.decode(stream))
                got: list[ImageArray] = []
                first_ms = 0
                want = t
                for av_frame in frames:
                    ft = (av_frame.time if av_frame.time is not None else want) - start
                    at = ft
                    # far from the moment: frames nothing depends on need not be decoded
                    cc.skip_frame = "NONREF" if ft < want - APPROACH_S else "DEFAULT"
                    if ft < want - 0.02:
                        continue
                    got.append(_picture(av_frame, long_side_px, source.rotation_deg))
                    if len(got) == 1:
                        first_ms = round(ft * 1000.0)
                        if follow_s > 0:
                            want = ft + follow_s
                            continue
                    break
                if got and first_ms > last_ms:
                    last_ms = first_ms
                    yield Moment(first_ms, tuple(got))
    except av.error.FFmpegError:
        return  # a look-ahead only: the analysis itself reports decode problems


def _picture(av_frame: Any, long_side_px: int | None, rotation_deg: int) -> ImageArray:
    """A decoded frame as RGB, scaled down by the decoder's scaler when asked."""
    w, h = av_frame.width, av_frame.height
    if long_side_px is not None and max(w, h) > long_side_px:
        scale = long_side_px / max(w, h)
        av_frame = av_frame.reformat(
            width=max(2, round(w * scale)), height=max(2, round(h * scale)), format="rgb24"
        )
    rgb = np.asarray(av_frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    return rotate_display(rgb, rotation_deg)


def _smaller(rgb: ImageArray, long_side_px: int | None) -> ImageArray:
    h, w = rgb.shape[:2]
    if long_side_px is None or max(w, h) <= long_side_px:
        return rgb
    scale = long_side_px / max(w, h)
    small = cv2.resize(
        rgb, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    return np.asarray(small, dtype=np.uint8)


def clip_frames(
    source: VideoFileSource, start_s: float, end_s: float
) -> Generator[Frame, None, None]:
    """The frames from ``start_s`` to ``end_s`` (seconds from the video's first frame; the last
    frame before ``start_s`` too, so the excerpt begins with what was on screen), decoded from
    the keyframe before ``start_s`` on."""
    import av

    with av.open(str(source.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        container.seek(int((base + max(0.0, start_s)) / stream.time_base), stream=stream)

        def frame(index: int, av_frame: av.VideoFrame, t: float) -> Frame:
            rgb = np.asarray(av_frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            return Frame(index, round(t * 1000.0), rotate_display(rgb, source.rotation_deg))

        prev: tuple[int, av.VideoFrame, float] | None = None  # not converted until needed
        for index, av_frame in enumerate(container.decode(stream)):
            t = (av_frame.time if av_frame.time is not None else base) - base
            if t >= end_s:
                break
            if t < start_s - 1e-6:
                prev = (index, av_frame, t)
                continue
            if prev is not None:
                yield frame(*prev)
                prev = None
            yield frame(index, av_frame, t)
        if prev is not None:
            yield frame(*prev)


def thumbnails_between(
    source: VideoFileSource, start_s: float, end_s: float, width_px: int = 96
) -> Iterator[tuple[float, ImageArray]]:
    """Small grey pictures of every frame from ``start_s`` to ``end_s`` (seconds from the
    video's first frame), scaled down by the decoder itself: a cheap way to see where the
    picture changes at once."""
    import av

    w = source.info.width if source.rotation_deg % 180 == 0 else source.info.height
    h = source.info.height if source.rotation_deg % 180 == 0 else source.info.width
    height_px = max(2, round(width_px * h / max(1, w)))
    with av.open(str(source.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        container.seek(int((base + max(0.0, start_s)) / stream.time_base), stream=stream)
        try:
            for av_frame in container.decode(stream):
                t = (av_frame.time if av_frame.time is not None else base) - base
                if t >= end_s:
                    return
                if t < start_s:
                    continue
                small = av_frame.reformat(width=width_px, height=height_px, format="gray")
                yield t, np.asarray(small.to_ndarray(), dtype=np.uint8)
        except av.error.FFmpegError:
            return


class LatestFrame:
    """A source read as a camera: frames arrive at their own pace (a video file is played at
    its frame rate) and the consumer always gets the newest one; frames it was too slow for are
    dropped, so the delay never grows. ``dropped`` counts them."""

    def __init__(self, source: FrameSource, *, pace: bool) -> None:
        self._source = source
        self._pace = pace
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._ended = False
        self._stop = False
        self._error: BaseException | None = None
        self.dropped = 0
        self.delivered = 0
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        start = time.monotonic()
        try:
            for frame in self._source.frames():
                if self._pace:
                    wait = start + frame.timestamp_ms / 1000.0 - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                with self._cond:
                    if self._stop:
                        return
                    if self._latest is not None:
                        self.dropped += 1
                    self._latest = frame
                    self._cond.notify_all()
        except BaseException as e:  # surfaced to the consumer
            self._error = e
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def next(self, timeout_s: float | None = None) -> Frame | None:
        """The newest unseen frame (waiting for one); None once the source has ended."""
        with self._cond:
            while self._latest is None and not self._ended:
                if not self._cond.wait(timeout_s):
                    return None
            frame, self._latest = self._latest, None
            if frame is None and self._error is not None:
                raise self._error
            if frame is not None:
                self.delivered += 1
            return frame

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=5)


class VideoWriter:
    """H.264 MP4 (yuv420p, plays in browsers) with each frame at its own timestamp, so a video
    with dropped frames keeps its real duration. With ``audio_from``, that file's sound (if it
    has any) goes along: on the same timeline as the frames' timestamps, or, with
    ``sound_follows=False``, in the pieces the caller gives to ``write_sound`` (a reel of
    excerpts). Written to a temporary name and moved into place on ``close()``; ``abort()``
    leaves nothing behind."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: float = 30.0,
        *,
        audio_from: Path | None = None,
        sound_follows: bool = True,
    ) -> None:
        import av

        from analyzer.audio import open_audio

        self.path = path
        self._tmp = path.with_name(f".{path.name}.part")
        self._container = av.open(str(self._tmp), "w", format="mp4")
        self._stream = self._container.add_stream("libx264", rate=max(1, round(fps)))
        self._stream.width = width - width % 2
        self._stream.height = height - height % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.codec_context.time_base = Fraction(1, 1000)
        self._stream.options = {"crf": "23", "preset": "veryfast"}
        self._last_pts = -1
        self._frame_ms = 1000.0 / max(1.0, fps)
        try:
            self._audio = open_audio(audio_from, self._container) if audio_from else None
        except BaseException:
            self.abort()
            raise
        self._audio_s = 0.0
        self._sound_follows = sound_follows

    @property
    def has_sound(self) -> bool:
        return self._audio is not None

    def write_sound(self, start_s: float, end_s: float) -> None:
        """Append the source's sound from ``start_s`` to ``end_s`` (``sound_follows=False``)."""
        if self._audio is not None:
            self._audio.write_span(start_s, end_s)

    def write(self, rgb: ImageArray, timestamp_ms: int) -> None:
        import av

        h, w = self._stream.height, self._stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        pts = max(int(timestamp_ms), self._last_pts + 1)
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = Fraction(1, 1000)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        if self._audio is not None and self._sound_follows and pts / 1000.0 > self._audio_s:
            self._audio.write_span(self._audio_s, pts / 1000.0)  # the sound up to this frame
            self._audio_s = pts / 1000.0

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        if self._audio is not None:
            end_s = (self._last_pts + self._frame_ms) / 1000.0
            if self._sound_follows and end_s > self._audio_s:
                self._audio.write_span(self._audio_s, end_s)
            self._audio.close()
        self._container.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        if getattr(self, "_audio", None) is not None:
            with contextlib.suppress(Exception):
                self._audio.abort()  # type: ignore[union-attr]
        with contextlib.suppress(Exception):
            self._container.close()
        self._tmp.unlink(missing_ok=True)
