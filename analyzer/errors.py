"""Errors the analyzer raises on purpose. Each message is one line that names the value at fault."""

from __future__ import annotations


class AnalyzerError(Exception):
    """Anything the user can act on. The CLI prints ``str(error)`` and exits non-zero."""

    exit_code = 1


class InputError(AnalyzerError):
    """The input is missing, unreadable, empty, or not an image or video."""

    exit_code = 2


class TooLargeError(InputError):
    """A picture (an image, a video's frames) has more pixels than is decoded safely."""


class TooSmallError(InputError):
    """A picture is too small to hold a face (or has no size at all)."""


class ModelError(AnalyzerError):
    """A model bundle is missing, corrupt, or could not be downloaded."""

    exit_code = 3


class NoPersonError(AnalyzerError):
    """The input decoded, but no person was found in it."""

    exit_code = 4


class OutputError(AnalyzerError):
    """The output folder cannot be written or would overwrite something that is not ours."""

    exit_code = 5
