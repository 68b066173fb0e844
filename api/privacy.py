"""The data folder is private to the account that runs the service: folders 0700, files 0600.

People upload videos of their relationships; no other local user may read them, their labels
or their results. Three things hold that, whatever umask the service is started with:

* ``private_umask`` (0077) in every process that writes into the data folder (the server, its
  workers, ``presence keys``), so whatever a library creates there (SQLite's journal, results,
  logs) is private from the start;
* files and folders the service creates itself are made with explicit modes;
* ``prepare_data_dir`` at start-up makes the folders and corrects the modes of everything
  already there (a data folder from an older version, or one copied in with other modes).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from api.settings import ApiSettings

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def private_umask() -> None:
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) and set its own mode to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)
    return path


def make_tree_private(root: Path) -> int:
    """Set every folder under ``root`` (itself included) to 0700 and every file to 0600;
    symbolic links are left alone and not followed. Returns how many modes were changed."""
    changed = 0
    for folder, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = Path(folder) / name
            try:
                st = path.lstat()
            except FileNotFoundError:  # removed meanwhile (a worker tidying up)
                continue
            if stat.S_ISLNK(st.st_mode):
                continue
            want = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
            if stat.S_IMODE(st.st_mode) != want:
                path.chmod(want)
                changed += 1
    return changed


def prepare_data_dir(settings: ApiSettings) -> None:
    """The data folder and its sub-folders exist and everything in them is private."""
    private_umask()
    for d in (settings.data_dir, settings.uploads_dir, settings.results_dir, settings.logs_dir):
        private_dir(d)
    make_tree_private(settings.data_dir)
