"""Keep MediaPipe's native (C++) log lines off the user's terminal.

MediaPipe and TFLite write dozens of lines to file descriptor 2 when models load, and no environment
variable silences them in mediapipe 1.2. ``divert_native_stderr`` points descriptor 2 at a log file
while ``sys.stderr`` keeps writing to the real terminal, so our own messages and the progress bar
still show.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def divert_native_stderr(log_path: Path | None = None) -> Iterator[Path]:
    """Send fd 2 to ``log_path`` (a temporary file by default); Python's ``sys.stderr`` is kept."""
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="presence-native-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    sys.stderr.flush()
    saved_fd = os.dup(2)
    saved_stream = sys.stderr
    real_stderr = os.fdopen(os.dup(saved_fd), "w", buffering=1, encoding="utf-8", errors="replace")
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(log_fd, 2)
        sys.stderr = real_stderr
        yield log_path
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(log_fd)
        sys.stderr = saved_stream
        real_stderr.close()
