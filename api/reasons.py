"""Failure reasons for clients: one line, with the client's own file name where the analyzer
named the stored upload, and never a server path.

Every message that reaches a client from the analyzer, a worker or the practice socket goes
through ``client_reason``. Known places (the upload, the data, models and cache folders) are
replaced first; any absolute path still left is cut to its last part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

MAX_REASON_CHARS = 500
# An absolute POSIX path not glued to a word before it ("1/2" stays), up to a space, quote,
# colon or bracket: "/srv/presence/results/ab12/report.json" -> "report.json".
ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/(?:[^\s/:'\"()\[\]]+/)+([^\s/:'\"()\[\]]*)")


def client_reason(
    message: str,
    *,
    upload: Path | None = None,
    name: str | None = None,
    roots: Iterable[Path | None] = (),
) -> str:
    """``message`` made fit for a client: ``upload`` (absolute or as the analyzer was given it)
    becomes ``name``; ``roots`` and other absolute paths are dropped to their last part."""
    text = " ".join(message.split())  # one line
    if upload is not None and name is not None:
        for form in sorted({str(upload.absolute()), str(upload)}, key=len, reverse=True):
            text = text.replace(form, name)
    for root in roots:
        if root is not None:
            text = text.replace(str(Path(root).absolute()) + "/", "")
    text = ABSOLUTE_PATH.sub(lambda m: m.group(1) or "a folder", text)
    return text[:MAX_REASON_CHARS]
