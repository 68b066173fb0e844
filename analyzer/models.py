"""Model bundles: where they live, how they are fetched, and a clear error when they cannot be had.

Two ways to find models:

* an explicit folder (``--models-dir`` or ``PRESENCE_MODELS_DIR``): used as given, no download and
  no digest check (it may hold a rebuilt bundle, as the test machines do);
* otherwise the user's cache folder, filled on first use from MediaPipe's official addresses and
  checked against the official SHA-256 digests. Downloads are written to a temporary file in the
  same folder and renamed into place only when the digest matches.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analyzer.errors import ModelError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    url: str
    sha256: str


FACE_LANDMARKER = ModelSpec(
    name="face",
    filename="face_landmarker.task",
    url=(
        "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
        "face_landmarker/float16/1/face_landmarker.task"
    ),
    sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
)
POSE_LANDMARKER_FULL = ModelSpec(
    name="pose",
    filename="pose_landmarker_full.task",
    url=(
        "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
        "pose_landmarker_full/float16/1/pose_landmarker_full.task"
    ),
    sha256="4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad",
)
ALL_MODELS: tuple[ModelSpec, ...] = (FACE_LANDMARKER, POSE_LANDMARKER_FULL)


@dataclass(frozen=True)
class ModelPaths:
    """The two bundles the analyzer runs, ready on disk."""

    face: Path
    pose: Path


Downloader = Callable[[str, Path], None]


def default_cache_dir() -> Path:
    """The per-user cache folder (XDG on Linux, the usual places elsewhere)."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "presence" / "models"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _urllib_download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=30) as response, dest.open("wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    path: Path
    present: bool
    digest_ok: bool | None  # None: not checked (explicit folder, or file absent)


class ModelStore:
    """Resolves model files. ``explicit_dir`` set: use it as given. Otherwise: cache + download."""

    def __init__(
        self,
        explicit_dir: Path | None = None,
        cache_dir: Path | None = None,
        downloader: Downloader = _urllib_download,
    ) -> None:
        self.explicit_dir = explicit_dir
        self.cache_dir = cache_dir or default_cache_dir()
        self._downloader = downloader

    @property
    def folder(self) -> Path:
        return self.explicit_dir if self.explicit_dir is not None else self.cache_dir

    def path(self, spec: ModelSpec) -> Path:
        """The path of a usable model file, downloading it into the cache if needed."""
        if self.explicit_dir is not None:
            p = self.explicit_dir / spec.filename
            if not p.is_file():
                raise ModelError(
                    f"model {spec.filename} not found in models folder {self.explicit_dir} "
                    f"(set by --models-dir or PRESENCE_MODELS_DIR); put it there or unset "
                    f"the setting to download it into {self.cache_dir}"
                )
            return p
        p = self.cache_dir / spec.filename
        if p.is_file() and sha256_of(p) == spec.sha256:
            return p
        self.fetch(spec)
        return p

    def fetch(self, spec: ModelSpec) -> Path:
        """Download ``spec`` into the cache folder, atomically and digest-checked."""
        dest = self.cache_dir / spec.filename
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ModelError(f"cannot create model cache folder {self.cache_dir}: {e}") from e
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", dir=self.cache_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                self._downloader(spec.url, tmp)
            except (urllib.error.URLError, OSError, TimeoutError) as e:
                reason = getattr(e, "reason", e)
                raise ModelError(
                    f"model {spec.filename} is not in {self.cache_dir} and downloading it from "
                    f"{spec.url} failed ({reason}); download it by hand into that folder, or "
                    f"point --models-dir / PRESENCE_MODELS_DIR at a folder that has it"
                ) from e
            digest = sha256_of(tmp)
            if digest != spec.sha256:
                raise ModelError(
                    f"downloaded {spec.filename} has SHA-256 {digest}, expected {spec.sha256}; "
                    f"the file was discarded"
                )
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def status(self) -> list[ModelStatus]:
        out = []
        for spec in ALL_MODELS:
            p = self.folder / spec.filename
            present = p.is_file()
            digest_ok = None
            if present and self.explicit_dir is None:
                digest_ok = sha256_of(p) == spec.sha256
            out.append(ModelStatus(spec=spec, path=p, present=present, digest_ok=digest_ok))
        return out


def model_paths(models_dir: Path | None = None, cache_dir: Path | None = None) -> ModelPaths:
    """The one place settings become model paths: ``models_dir`` (an explicit folder, used as
    given), else the ``PRESENCE_MODELS_DIR`` setting, else the user's cache (downloaded there and
    checked on first use; ``cache_dir`` or ``PRESENCE_CACHE_DIR`` moves it). A missing or
    unobtainable bundle is a ``ModelError`` that says where it was looked for."""
    from analyzer.settings import AnalyzerSettings

    settings = AnalyzerSettings()
    store = ModelStore(
        explicit_dir=models_dir or settings.models_dir, cache_dir=cache_dir or settings.cache_dir
    )
    return ModelPaths(face=store.path(FACE_LANDMARKER), pose=store.path(POSE_LANDMARKER_FULL))
