"""Uploads and results in object storage (``PRESENCE_STORAGE_URL=s3://bucket/prefix``).

By default uploads and results live in the data folder and nothing here is used. With a
storage address (a cluster: API nodes and workers on different machines) the object store is
where they are kept: an upload is streamed into the API node's data folder as always, checked
from its headers, then put into the store (``uploads/<id>/<stored name>``) and removed locally;
a worker gets it from there into its own data folder, analyzes it, puts the results back
(``results/<id>/…``) and removes its local copies. The API serves results from the store, and
DELETE removes everything there too.

Any S3-compatible store, through fsspec/s3fs (credentials the usual AWS way: environment,
config files or instance roles; ``PRESENCE_S3_ENDPOINT_URL`` for a store that is not AWS).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

CHUNK_BYTES = 1024 * 1024


class ObjectStore:
    """A folder of an object store, addressed by keys relative to it."""

    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        import fsspec

        options: dict[str, Any] = {}
        if url.startswith("s3://") and endpoint_url:
            options["client_kwargs"] = {"endpoint_url": endpoint_url}
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)

    def _path(self, key: str) -> str:
        return f"{self.root}/{key.lstrip('/')}"

    def put_file(self, local: Path, key: str) -> None:
        self.fs.put_file(str(local), self._path(key))

    def get_file(self, key: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        self.fs.get_file(self._path(key), str(local))

    def put_folder(self, local: Path, prefix: str) -> None:
        """Every file of ``local`` (not its subfolders) under ``prefix``."""
        for f in sorted(local.iterdir()):
            if f.is_file():
                self.put_file(f, f"{prefix}/{f.name}")

    def write_bytes(self, key: str, data: bytes) -> None:
        """The object whole or not at all (S3 puts are; in a folder: written aside, then
        renamed over)."""
        path = self._path(key)
        if self.url.startswith("s3://"):
            self.fs.pipe_file(path, data)
            return
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        aside = f"{path}.{uuid.uuid4().hex}.part"
        self.fs.pipe_file(aside, data)
        self.fs.mv(aside, path)

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def read_bytes(self, key: str) -> bytes:
        data: bytes = self.fs.cat_file(self._path(key))
        return data

    def size(self, key: str) -> int:
        return int(self.fs.size(self._path(key)))

    def chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The object's bytes from ``start`` to before ``end`` (None: its end), a piece at a
        time (memory holds one piece)."""
        with self.fs.open(self._path(key), "rb") as f:
            f.seek(start)
            left = None if end is None else end - start
            while left is None or left > 0:
                chunk = f.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def remove(self, prefix: str) -> None:
        """Everything under ``prefix`` (nothing there is fine)."""
        path = self._path(prefix)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
        self.fs.invalidate_cache()


@lru_cache(maxsize=4)
def _store(url: str, endpoint_url: str | None) -> ObjectStore:
    return ObjectStore(url, endpoint_url)


def object_store(storage_url: str | None, endpoint_url: str | None = None) -> ObjectStore | None:
    """The configured object store (any fsspec address: s3://, or file:// for a shared
    folder), or None when uploads and results stay in the data folder."""
    if not storage_url:
        return None
    return _store(storage_url, endpoint_url)
