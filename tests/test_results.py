"""Byte ranges of result files served from the object store (a player seeking in the reel)."""

from __future__ import annotations

import pytest

from api.results import byte_range


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=10-", (10, 100)),
        ("bytes=-5", (95, 100)),
        ("bytes=0-999", (0, 100)),  # past the end: up to the end
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),  # other units: the whole file
        ("bytes=5-2", None),  # not a valid range: the header is ignored
    ],
)
def test_one_range_or_the_whole_file(header: str | None, span: tuple[int, int] | None) -> None:
    assert byte_range(header, 100) == span


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0"])
def test_a_range_past_the_end_is_refused(header: str) -> None:
    with pytest.raises(ValueError):
        byte_range(header, 100)


def test_no_range_of_an_empty_file() -> None:
    with pytest.raises(ValueError):
        byte_range("bytes=-5", 0)
    assert byte_range(None, 0) is None
