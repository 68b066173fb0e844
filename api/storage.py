"""The name an upload is shown under: the client's file name made safe."""

from __future__ import annotations

import re
import unicodedata

SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


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
