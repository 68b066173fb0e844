"""Starting the real service for end-to-end tests: `presence serve` in a subprocess on a free
loopback port, with its own data folder, and keys made with `presence keys create`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import models_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # run in the server process before it starts (a umask, a resource limit)
    preexec: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PRESENCE_DATA_DIR": str(self.data_dir),
            "PRESENCE_MODELS_DIR": str(models_dir()),
            **self.env_extra,
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "analyzer.cli", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def new_key(self, name: str) -> str:
        proc = self.cli("keys", "create", "--name", name)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip().splitlines()[-1]

    def start(self, timeout_s: float = 60.0) -> None:
        with (self.data_dir.parent / f"server-{self.port}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "analyzer.cli", "serve", "--port", str(self.port)],
                env=self.env(),
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=self.preexec,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not come up")

    @property
    def log_text(self) -> str:
        """What the server wrote to its stdout and stderr so far."""
        return (self.data_dir.parent / f"server-{self.port}.log").read_text(errors="replace")

    def workers(self) -> list[int]:
        """Process ids of the server's running analysis workers."""
        return [pid for pid in children(self.pid) if "spawn_main" in cmdline(pid)]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would: no cleanup runs."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    """Direct children of a process (they hang off the thread that started them)."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out.extend(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return out


def status_kb(pid: int, field_name: str) -> int:
    """A field of /proc/<pid>/status in kB (VmRSS, VmHWM), 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(pid: int) -> float:
    """The highest resident memory the process has had (VmHWM), in MB."""
    return status_kb(pid, "VmHWM") / 1024
