"""Where uploads and results live in the data folder, and safe names for them."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path
from typing import BinaryIO

SAFE = re.compile(r"[^A-Za-z0-9._ -]+")
CHUNK = 1 << 20


def safe_name(client_name: str | None) -> str:
    """A file name with no folders, no control or odd characters, and no leading dots."""
    name = (client_name or "").replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFKC", name)
    name = SAFE.sub("_", name).strip(" .")
    if not name:
        name = "upload"
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        return f"{stem[:80]}.{ext[:10]}"
    return name[:90]


def save_stream(src: BinaryIO, dest: Path) -> int:
    """Copy an upload to ``dest`` in chunks; returns the byte count."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
    return dest.stat().st_size
