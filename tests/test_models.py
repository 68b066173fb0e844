"""The model store: explicit folders, downloads that are atomic and digest-checked, clear errors."""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import pytest

from analyzer.errors import ModelError
from analyzer.models import ALL_MODELS, FACE_LANDMARKER, ModelSpec, ModelStore, sha256_of
from tests.conftest import models_dir

PAYLOAD = b"not really a model, but bytes with a known digest"
SPEC = ModelSpec(
    "test", "tiny.task", "https://example.invalid/tiny.task", hashlib.sha256(PAYLOAD).hexdigest()
)


def test_official_digests_are_the_published_ones() -> None:
    digests = {m.filename: m.sha256 for m in ALL_MODELS}
    face = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
    pose = "4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad"
    assert digests == {"face_landmarker.task": face, "pose_landmarker_full.task": pose}
    assert all(
        m.url.startswith("https://storage.googleapis.com/mediapipe-models/") for m in ALL_MODELS
    )


def test_the_shared_face_bundle_is_the_official_one() -> None:
    assert sha256_of(models_dir() / "face_landmarker.task") == FACE_LANDMARKER.sha256


def test_explicit_folder_is_used_as_given() -> None:
    store = ModelStore(explicit_dir=models_dir())
    for spec in ALL_MODELS:
        assert store.path(spec) == models_dir() / spec.filename


def test_explicit_folder_without_the_model_says_how_to_fix(tmp_path: Path) -> None:
    store = ModelStore(explicit_dir=tmp_path)
    with pytest.raises(ModelError) as err:
        store.path(FACE_LANDMARKER)
    msg = str(err.value)
    assert "face_landmarker.task not found" in msg and "PRESENCE_MODELS_DIR" in msg
    assert "\n" not in msg


def test_download_is_digest_checked_and_atomic(tmp_path: Path) -> None:
    calls = []

    def good(url: str, dest: Path) -> None:
        calls.append(url)
        dest.write_bytes(PAYLOAD)

    store = ModelStore(cache_dir=tmp_path / "cache", downloader=good)
    path = store.path(SPEC)
    assert path.read_bytes() == PAYLOAD
    assert store.path(SPEC) == path  # cached: no second download
    assert calls == [SPEC.url]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["tiny.task"]


def test_wrong_digest_is_discarded(tmp_path: Path) -> None:
    def tampered(url: str, dest: Path) -> None:
        dest.write_bytes(PAYLOAD + b"!")

    store = ModelStore(cache_dir=tmp_path, downloader=tampered)
    with pytest.raises(ModelError, match=r"expected .*discarded"):
        store.path(SPEC)
    assert list(tmp_path.iterdir()) == []  # no partial or wrong file left behind


def test_failed_download_says_what_to_do(tmp_path: Path) -> None:
    def offline(url: str, dest: Path) -> None:
        dest.write_bytes(b"half")
        raise urllib.error.URLError("Temporary failure in name resolution")

    store = ModelStore(cache_dir=tmp_path, downloader=offline)
    with pytest.raises(ModelError) as err:
        store.path(SPEC)
    msg = str(err.value)
    assert "downloading it from https://example.invalid/tiny.task failed" in msg
    assert "--models-dir" in msg and "\n" not in msg
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cached_file_is_fetched_again(tmp_path: Path) -> None:
    (tmp_path / "tiny.task").write_bytes(b"corrupt")
    store = ModelStore(cache_dir=tmp_path, downloader=lambda url, dest: dest.write_bytes(PAYLOAD))
    assert store.path(SPEC).read_bytes() == PAYLOAD
