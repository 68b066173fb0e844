"""Load check for the service (not a timed test): N concurrent uploads of a real clip are all
accepted and all finish, with memory bounded by the worker count, not by N, and status
requests answered quickly while the workers are busy.

    python scripts/load_check.py [--uploads 20] [--workers 2] [--clip PATH]

Starts `presence serve` on a free port with a fresh data folder, makes a key, uploads the clip N
times at once from N threads, polls every analysis's status (timing each request) until all
are done, and samples the resident memory of the server and its worker processes (from /proc)
throughout. Prints the time until all were accepted and until all were done, the status
requests' latency (median, p95, max), and peak memory (server alone, and server + workers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.apiserver import Server, children, status_kb  # noqa: E402

DEFAULT_CLIP = ROOT.parent / "shared" / "media" / "talking" / "liveportrait_d0.mp4"


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += status_kb(p, "VmRSS")
        stack.extend(children(p))
    return total / 1024


class MemorySampler:
    """Peak resident memory of the server alone and of the server with its workers."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tree_peak_mb = tree_rss_mb(pid)
        self.idle_mb = self.tree_peak_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.tree_peak_mb = max(self.tree_peak_mb, tree_rss_mb(self.pid))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def server_peak_mb(self) -> float:
        return status_kb(self.pid, "VmHWM") / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data", env_extra={"PRESENCE_WORKERS": str(args.workers)})
        server.start()
        key = server.new_key("load")
        headers = {"Authorization": f"Bearer {key}"}

        def upload(i: int) -> tuple[int, str]:
            with (
                httpx.Client(base_url=server.url, headers=headers, timeout=120) as c,
                args.clip.open("rb") as f,
            ):
                r = c.post("/v1/analyses", files={"file": (f"clip{i}.mp4", f)})
                return r.status_code, r.json().get("id", "")

        latencies_ms: list[float] = []
        statuses: dict[str, str] = {}
        with MemorySampler(server.pid) as memory:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.uploads) as pool:
                results = list(pool.map(upload, range(args.uploads)))
            t_accept = time.perf_counter() - t0
            accepted = [i for code, i in results if code == 202]
            pending = set(accepted)
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
                while pending:
                    time.sleep(0.5)
                    for aid in list(pending):
                        t = time.perf_counter()
                        s = c.get(f"/v1/analyses/{aid}").json()["status"]
                        latencies_ms.append((time.perf_counter() - t) * 1000)
                        if s in ("done", "failed"):
                            statuses[aid] = s
                            pending.discard(aid)
            total = time.perf_counter() - t0
            server_peak_mb = memory.server_peak_mb
        server.stop()
    done = sum(s == "done" for s in statuses.values())
    size_mb = args.clip.stat().st_size / 1e6
    print(f"{args.uploads} uploads of {args.clip.name} ({size_mb:.1f} MB), {args.workers} workers")
    print(f"accepted {len(accepted)}/{args.uploads} in {t_accept:.1f} s")
    print(
        f"all finished in {total:.1f} s: {done} done, {len(statuses) - done} failed "
        f"({total / max(1, len(accepted)):.1f} s per analysis)"
    )
    print(
        f"status requests while busy: {len(latencies_ms)}, median "
        f"{statistics.median(latencies_ms):.0f} ms, p95 {percentile(latencies_ms, 0.95):.0f} ms, "
        f"max {max(latencies_ms):.0f} ms"
    )
    print(
        f"memory (resident): server idle with nothing running {memory.idle_mb:.0f} MB, server "
        f"peak {server_peak_mb:.0f} MB, server + workers peak {memory.tree_peak_mb:.0f} MB"
    )
    return 0 if done == args.uploads else 1


if __name__ == "__main__":
    sys.exit(main())
