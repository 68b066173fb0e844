"""Frame sources: timestamps, rotation, sampling, and one-line errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analyzer.errors import InputError
from analyzer.types import SourceKind
from analyzer.video import RateSampler, open_source, sample_moments
from tests.clips import write_clip
from tests.conftest import media
from tests.corpus import remux


def _marked(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """Frames with a white block in the top-left corner (to see rotation)."""
    out = []
    for i in range(n):
        a = np.full((h, w, 3), 40 + i % 50, np.uint8)
        a[:12, :16] = 255
        out.append(a)
    return out


def test_real_clip_timestamps_and_info() -> None:
    with open_source(media("talking/liveportrait_d13.mp4")) as src:
        assert src.info.kind == SourceKind.VIDEO
        assert (src.info.width, src.info.height) == (720, 1280)
        assert src.info.fps == pytest.approx(30.0, abs=0.01)
        frames = list(src.frames())
    ts = [f.timestamp_ms for f in frames]
    assert ts[0] == 0
    assert all(np.diff(ts) > 0)
    assert np.median(np.diff(ts)) == pytest.approx(33.3, abs=1)
    assert len(frames) == 352
    assert src.warnings == []


def test_sampling_to_analysis_rate() -> None:
    with open_source(media("talking/liveportrait_d13.mp4")) as src:
        kept = [f.timestamp_ms for f in src.frames(keep=RateSampler(10.0).keep)]
    assert len(kept) == pytest.approx(11.7 * 10, abs=2)
    assert np.median(np.diff(kept)) == pytest.approx(100, abs=1)


def test_sampler_on_a_25fps_grid() -> None:
    s = RateSampler(10.0)
    kept = [t for t in range(0, 2000, 40) if s.keep(t)]
    assert len(kept) == 20  # 2 s at 10 per second
    assert max(np.diff(kept)) <= 120


def test_variable_frame_rate_uses_container_times(tmp_path: Path) -> None:
    pts = [0, 40, 80, 400, 440, 1500, 1540]  # bursts and gaps, as phones record
    path = write_clip(tmp_path / "vfr.mp4", _marked(len(pts)), pts_ms=pts)
    with open_source(path) as src:
        ts = [f.timestamp_ms for f in src.frames()]
    assert ts == pts


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata_is_applied(tmp_path: Path, rotation: int) -> None:
    path = write_clip(tmp_path / f"rot{rotation}.mp4", _marked(5), rotation_deg=rotation)
    with open_source(path) as src:
        assert src.info.rotation_deg == rotation
        frame = next(iter(src.frames()))
    expected = np.rot90(_marked(1)[0], k=rotation // 90)
    assert frame.rgb.shape == expected.shape
    assert (src.info.height, src.info.width) == expected.shape[:2]
    white = frame.rgb[..., 0] > 200
    np.testing.assert_array_equal(white, expected[..., 0] > 200)


def test_still_image_is_one_frame_at_zero() -> None:
    with open_source(media("gaze/deepface_couple.jpg")) as src:
        frames = list(src.frames())
    assert src.info.kind == SourceKind.IMAGE
    assert [f.timestamp_ms for f in frames] == [0]
    assert frames[0].rgb.shape == (1588, 2280, 3)


def test_sample_moments_cover_the_video() -> None:
    with open_source(media("conversation/vv_interview.mp4")) as src:
        # this clip has a keyframe every 10 s: the look decodes on instead of seeking back
        assert len(src.keyframe_times_s()) == 2
        wanted = [0.5, 3.0, 6.5, 9.0, 12.5, 16.0]
        moments = sample_moments(src, wanted, follow_s=0.4)
        assert [m.timestamp_ms / 1000 for m in moments] == pytest.approx(wanted, abs=0.05)
        for m in moments:
            assert len(m.frames) == 2 and m.frames[0].shape == (720, 1280, 3)
            assert not np.array_equal(m.frames[0], m.frames[1])  # 0.4 s later
        # the source itself is not moved by the look-ahead
        assert next(iter(src.frames())).timestamp_ms == 0


def test_sample_moments_of_an_image_and_past_the_end() -> None:
    with open_source(media("posture/fr_obama_portrait.jpg")) as src:
        (moment,) = sample_moments(src, [0.0, 5.0], follow_s=0.4)
        assert moment.timestamp_ms == 0 and len(moment.frames) == 1
    with open_source(media("talking/npg_head_nodding.mp4")) as src:
        got = sample_moments(src, [1.0, 8.5, 30.0])
        assert [round(m.timestamp_ms / 1000, 1) for m in got] == [1.0, 8.5]


def test_truncated_video_is_analyzed_as_far_as_it_decodes(tmp_path: Path) -> None:
    mkv = remux(media("talking/liveportrait_d13.mp4"), tmp_path / "whole.mkv")
    data = mkv.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    with open_source(cut) as src:
        frames = list(src.frames())
    assert 50 < len(frames) < 300
    assert len(src.warnings) == 1
    assert "truncated" in src.warnings[0] or "stopped" in src.warnings[0]


def test_corrupt_middle_is_decoded_around_or_reported(tmp_path: Path) -> None:
    mkv = remux(media("talking/liveportrait_d13.mp4"), tmp_path / "whole.mkv")
    data = bytearray(mkv.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 20000] = bytes(20000)  # a stretch of zeros, as a failing disk leaves
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    with open_source(bad) as src:
        frames = list(src.frames())
    ts = [f.timestamp_ms for f in frames]
    assert ts == sorted(ts)
    assert len(frames) > 100  # the part before the damage at least
    if len(frames) < 330:  # frames were lost: the user is told where
        assert any("no video frames between" in w for w in src.warnings)


def test_moov_at_end_mp4_cut_in_half_is_a_clear_error(tmp_path: Path) -> None:
    data = media("talking/liveportrait_d13.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # its index is at the end: nothing to go on
    with pytest.raises(InputError, match="the recording is incomplete: its index"):
        open_source(cut)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (lambda d: d, "is a folder"),
        (lambda d: _write(d / "empty.mp4", b""), "empty"),
        (lambda d: _write(d / "notes.txt", b"hello, this is not a video\n" * 50), "not a readable"),
        (lambda d: _write(d / "fake.jpg", b"\xff\xd8\xff\xe0 broken jpeg"), "cannot decode"),
        (lambda d: _head_only(d / "head.mkv"), "no frame could be decoded"),
    ],
    ids=["missing", "folder", "zero-bytes", "text", "broken-jpeg", "header-only"],
)
def test_bad_input_raises_one_line_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(InputError) as err, open_source(path) as src:
        list(src.frames())
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _head_only(path: Path) -> Path:
    """A streamable container whose header survived but whose frames did not."""
    data = remux(media("talking/liveportrait_d13.mp4"), path.with_suffix(".whole.mkv")).read_bytes()
    path.write_bytes(data[:1200])
    return path


def test_skipping_unreferenced_frames_still_gives_the_analysis_rate() -> None:
    with open_source(media("talking/liveportrait_d13.mp4")) as src:
        kept = [f.timestamp_ms for f in src.frames(keep=RateSampler(10.0).keep, rate_fps=10.0)]
    gaps = np.diff(kept)
    assert len(kept) == pytest.approx(11.7 * 10, abs=5)
    assert np.median(gaps) == pytest.approx(100, abs=35)
    assert gaps.max() <= 170  # never more than a frame and a bit late


def test_prefetch_passes_frames_and_errors_through() -> None:
    from analyzer.types import Frame
    from analyzer.video import Prefetch

    def frames(fail_at: int | None):  # type: ignore[no-untyped-def]
        for i in range(10):
            if i == fail_at:
                raise InputError("broken at 5")
            yield Frame(index=i, timestamp_ms=i, rgb=np.zeros((2, 2, 3), np.uint8))

    assert [f.index for f in Prefetch(frames(None), depth=2)] == list(range(10))
    got = []
    with pytest.raises(InputError, match="broken at 5"):
        for f in Prefetch(frames(5), depth=2):
            got.append(f.index)
    assert got == [0, 1, 2, 3, 4]
    for f in Prefetch(frames(None), depth=2):  # a consumer that stops early does not hang
        if f.index == 3:
            break
