"""A recording's sound carried into a video Presence writes (annotated.mp4, the moments reel, the
live overlay's recording): decoded from the source and encoded again as AAC, in pieces placed one
after another on the output's own timeline, so that a piece can start anywhere and the sound
stays with the picture.

Times are seconds from the source's first video frame, as frame timestamps are elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
import numpy.typing as npt

RATE_HZ = 48000
FRAME_SAMPLES = 1024  # AAC encodes 1024 samples a frame

Pcm = npt.NDArray[np.float32]  # channels x samples


class AudioOut:
    """The sound of ``source`` written into ``container`` (an MP4 being written) as a new AAC
    stream. Use ``open_audio`` (None when the source has no sound); call ``close`` before the
    container is closed."""

    def __init__(self, source: Path, container: av.container.OutputContainer) -> None:
        self._in = av.open(str(source))
        try:
            self._in_stream = self._in.streams.audio[0]
            video = self._in.streams.video[0] if self._in.streams.video else None
            self._zero_s = 0.0
            if video is not None and video.start_time is not None and video.time_base:
                self._zero_s = float(video.start_time * video.time_base)
            channels = min(2, max(1, self._in_stream.codec_context.channels or 1))
            self._layout = "stereo" if channels == 2 else "mono"
            self._channels = channels
            self._out = container.add_stream("aac", rate=RATE_HZ)
            self._out.layout = self._layout
            self._out.bit_rate = 128_000
        except BaseException:
            self._in.close()
            raise
        self._container = container
        self._to_output = av.AudioResampler(format="fltp", layout=self._layout, rate=RATE_HZ)
        self._fifo = av.AudioFifo()
        self._written = 0  # samples encoded, on the output's timeline
        self._frames: Iterator[tuple[float, Pcm, int]] | None = None
        self._at_s = -1.0  # where reading the source stands
        self._left: tuple[float, Pcm, int] | None = None  # read but not yet used

    # -- reading the source --------------------------------------------------------------------
    def _pcm(self) -> Iterator[tuple[float, Pcm, int]]:
        """(time, samples, rate) of each source frame, as float channels x samples."""
        same_rate: av.AudioResampler | None = None
        for frame in self._in.decode(self._in_stream):
            rate = frame.sample_rate or RATE_HZ
            if same_rate is None:  # format and channels only: no delay
                same_rate = av.AudioResampler(format="fltp", layout=self._layout, rate=rate)
            t = float(frame.time if frame.time is not None else 0.0) - self._zero_s
            for out in same_rate.resample(frame):
                yield t, np.asarray(out.to_ndarray(), np.float32), rate
                t += out.samples / rate

    def _seek(self, start_s: float) -> None:
        """Read from about ``start_s`` on, unless reading already stands there (pieces that
        follow on read the source once, without seeking)."""
        if self._frames is None or abs(start_s - self._at_s) > 0.05:
            self._in.seek(int((self._zero_s + max(0.0, start_s)) / av.time_base))
            self._frames = self._pcm()
            self._left = None

    def _next(self) -> tuple[float, Pcm, int] | None:
        if self._left is not None:
            item, self._left = self._left, None
            return item
        assert self._frames is not None
        return next(self._frames, None)

    def write_span(self, start_s: float, end_s: float) -> None:
        """Append the source's sound from ``start_s`` to ``end_s`` to the output, right after
        what was written before (silence where the source has none)."""
        want = max(0, round((end_s - start_s) * RATE_HZ))
        got = 0
        self._seek(start_s)
        while (item := self._next()) is not None:
            t0, pcm, rate = item
            n = pcm.shape[1]
            if t0 + n / rate <= start_s:
                continue
            if t0 >= end_s:
                self._left = item  # the next piece may start here
                break
            a = max(0, round((start_s - t0) * rate))
            b = min(n, round((end_s - t0) * rate))
            if b > a:
                got += self._push(pcm[:, a:b], rate)
            if b < n:
                self._left = (t0 + b / rate, pcm[:, b:], rate)
                break
        self._at_s = end_s
        if got < want:  # the sound ended before the picture: silence keeps them in step
            self._push(np.zeros((self._channels, want - got), np.float32), RATE_HZ)
        self._encode_full_frames()

    def _push(self, pcm: Pcm, rate: int) -> int:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm), format="fltp", layout=self._layout
        )
        frame.sample_rate = rate
        for out in self._to_output.resample(frame):
            out.pts = None
            self._fifo.write(out)
        return round(int(pcm.shape[1]) * RATE_HZ / rate)  # at the output's rate

    # -- writing -------------------------------------------------------------------------------
    def _encode(self, frame: av.AudioFrame | None) -> None:
        if frame is not None:
            frame.pts = self._written
            frame.time_base = Fraction(1, RATE_HZ)
            self._written += frame.samples
        for packet in self._out.encode(frame):
            self._container.mux(packet)

    def _encode_full_frames(self) -> None:
        while self._fifo.samples >= FRAME_SAMPLES:
            frame = self._fifo.read(FRAME_SAMPLES)
            if frame is None:
                break
            self._encode(frame)

    def close(self) -> None:
        """Encode what is left (before the output container is closed)."""
        try:
            for out in self._to_output.resample(None):
                out.pts = None
                self._fifo.write(out)
            self._encode_full_frames()
            if self._fifo.samples:
                self._encode(self._fifo.read())
            self._encode(None)
        finally:
            self._in.close()

    def abort(self) -> None:
        self._in.close()

    def __enter__(self) -> AudioOut:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def has_audio(source: Path) -> bool:
    try:
        with av.open(str(source)) as c:
            return bool(c.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


def open_audio(source: Path, container: av.container.OutputContainer) -> AudioOut | None:
    """The source's sound for ``container``, or None when it has none (a camera, a silent
    clip, an image)."""
    if not source.is_file() or not has_audio(source):
        return None
    return AudioOut(source, container)
