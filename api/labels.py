"""What a label may contain: one rule for the upload form, the listing filter and the progress
routes, so that every label that is accepted can also be asked for again in a URL.

A label is 1-100 characters (after Unicode NFC normalisation) of letters, combining marks and
digits of any script, spaces, and ``- _ . ' &``; it neither starts nor ends with a space and is
not only dots (``.`` and ``..`` are folder names in a URL). So ``Ana & Ben``, ``O'Neill``,
``couple-7``, ``Zoë``, ``हिंदी`` and ``李小龙`` are labels; anything with ``/``, ``\\``, ``?``,
``#``, ``%``, a control, format or invisible character is not.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

LABEL_MAX_CHARS = 100
LABEL_PUNCTUATION = frozenset(" -_.'&")
LABEL_CATEGORIES = ("L", "M", "N")  # letters, combining marks (needed by many scripts), digits
LABEL_FORMAT = "presence-label"  # the OpenAPI string format naming this rule
LABEL_RULE = (
    "1-100 letters, marks or digits of any script, spaces and - _ . ' &; "
    "no leading or trailing space, not only dots"
)


def label_problem(text: str) -> str | None:
    """Why ``text`` (already NFC-normalised) is not a label, in a few words; None if it is."""
    if not 1 <= len(text) <= LABEL_MAX_CHARS:
        return f"must be 1-{LABEL_MAX_CHARS} characters, got {len(text)}"
    if text != text.strip(" "):
        return "must not start or end with a space"
    if not text.strip("."):
        return "must not be only dots"
    for ch in text:
        if ch not in LABEL_PUNCTUATION and not unicodedata.category(ch).startswith(
            LABEL_CATEGORIES
        ):
            shown = ch if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"
            return f"may not contain {shown!r} (allowed: {LABEL_RULE})"
    return None


def check_label(text: str) -> str:
    """The label in its NFC form; ``ValueError`` with one line if it breaks the rule."""
    normal = unicodedata.normalize("NFC", text)
    problem = label_problem(normal)
    if problem is not None:
        raise ValueError(problem)
    return normal


LABEL_SCHEMA = {
    "type": "string",
    "format": LABEL_FORMAT,
    "minLength": 1,
    "maxLength": LABEL_MAX_CHARS,
    "description": f"A client or couple label: {LABEL_RULE}.",
}

# A label anywhere in the API (a path or query parameter, a model field).
Label = Annotated[str, AfterValidator(check_label), WithJsonSchema(LABEL_SCHEMA)]
