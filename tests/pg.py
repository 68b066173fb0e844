"""A real PostgreSQL for tests: Debian's server binaries (``.ci/run`` installs the package),
a throwaway cluster in a temporary folder on a free port, trust authentication on loopback.
As root (CI containers) the server runs as the ``postgres`` user, as PostgreSQL requires."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.apiserver import free_port


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


@contextmanager
def postgres() -> Iterator[str]:
    """Start a PostgreSQL; yields its address (postgresql://presence@127.0.0.1:PORT/postgres)."""
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="presence-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    run = {"check": True, "capture_output": True}
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "presence", "-A", "trust"],
        **run,  # type: ignore[call-overload]
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(root / "log"),
            "start",
        ],
        **run,  # type: ignore[call-overload]
    )
    try:
        yield f"postgresql://presence@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
