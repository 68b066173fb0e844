"""Load check for the service (not a timed test): N concurrent uploads of a real clip are all
accepted and all finish, with memory bounded by the worker count, not by N.

    python scripts/load_check.py [--uploads 12] [--workers 2] [--clip PATH]

Starts `presence serve` on a free port with a fresh data folder, makes a key, uploads the clip N
times at once from N threads, polls until every analysis is done, and samples the resident memory
of the server and its worker processes (from /proc) throughout.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.apiserver import Server  # noqa: E402

DEFAULT_CLIP = ROOT.parent / "shared" / "media" / "talking" / "liveportrait_d0.mp4"


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            # children hang off the thread that started them (the dispatcher), so read every task
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return total / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uploads", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data", env_extra={"PRESENCE_WORKERS": str(args.workers)})
        server.start()
        key = server.new_key("load")
        headers = {"Authorization": f"Bearer {key}"}
        assert server.proc is not None
        peak = [tree_rss_mb(server.proc.pid)]
        idle_rss = peak[0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                peak.append(tree_rss_mb(server.proc.pid))  # type: ignore[union-attr]

        threading.Thread(target=sample, daemon=True).start()

        def upload(i: int) -> tuple[int, str]:
            with (
                httpx.Client(base_url=server.url, headers=headers, timeout=120) as c,
                args.clip.open("rb") as f,
            ):
                r = c.post("/v1/analyses", files={"file": (f"clip{i}.mp4", f)})
                return r.status_code, r.json().get("id", "")

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.uploads) as pool:
            results = list(pool.map(upload, range(args.uploads)))
        t_accept = time.perf_counter() - t0
        accepted = [i for code, i in results if code == 202]
        print(
            f"accepted {len(accepted)}/{args.uploads} uploads in {t_accept:.1f} s "
            f"(clip {args.clip.name}, {args.clip.stat().st_size / 1e6:.1f} MB)"
        )
        pending = set(accepted)
        statuses: dict[str, str] = {}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
            while pending:
                time.sleep(1.0)
                for aid in list(pending):
                    s = c.get(f"/v1/analyses/{aid}").json()["status"]
                    if s in ("done", "failed"):
                        statuses[aid] = s
                        pending.discard(aid)
        total = time.perf_counter() - t0
        stop.set()
        server.stop()
        done = sum(s == "done" for s in statuses.values())
        print(
            f"finished: {done} done, {len(statuses) - done} failed, in {total:.1f} s "
            f"({total / max(1, len(accepted)):.1f} s per analysis with {args.workers} workers)"
        )
        print(
            f"memory (server + workers, resident): idle {idle_rss:.0f} MB, peak {max(peak):.0f} MB"
        )
        return 0 if done == args.uploads else 1


if __name__ == "__main__":
    sys.exit(main())
