"""Errors the analyzer raises on purpose. Each message is one line that names the value at fault.

Each class carries what it means for each front end: ``exit_code`` for the CLI, ``http_status``
for the service (one exception handler there reads it; no message is ever parsed).
"""

from __future__ import annotations


class AnalyzerError(Exception):
    """Anything the user can act on. The CLI prints ``str(error)`` and exits non-zero."""

    exit_code = 1
    http_status = 500


class InputError(AnalyzerError):
    """The input is missing, unreadable, empty, or not an image or video."""

    exit_code = 2
    http_status = 415


class TooLargeError(InputError):
    """A picture (an image, a video's frames) has more pixels than is decoded safely."""

    http_status = 413


class TooSmallError(InputError):
    """A picture is too small to hold a face (or has no size at all)."""

    http_status = 422


class ModelError(AnalyzerError):
    """A model bundle is missing, corrupt, or could not be downloaded."""

    exit_code = 3
    http_status = 503


class NoPersonError(AnalyzerError):
    """The input decoded, but no person was found in it."""

    exit_code = 4
    http_status = 422


class OutputError(AnalyzerError):
    """The output folder cannot be written or would overwrite something that is not ours."""

    exit_code = 5
