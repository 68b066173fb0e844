"""The malformed-input corpus (tests/corpus.py, built from ../shared/media) uploaded through the
API, with two workers on: every file is refused at upload with a one-line 4xx that says why, or
accepted and then analyzed (or failed with the reason the CLI gives); never a 5xx, a traceback
or a server path; the server's and the workers' peak memory stay under ceilings; and after
DELETE nothing of any of them is left on disk.

(The corpus's pipe and device are left out: an upload is bytes, it cannot be a pipe.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.apiserver import Server, children, peak_rss_mb
from tests.corpus import Case

# Peak resident memory, measured on this corpus: the API process about 240 MB (it reads
# headers only; FFmpeg decodes one frame of the 8K video to read its stream parameters), a
# worker about 1.5 GB (the 8K video: 100 MB a frame in RGB, on top of the models' 450 MB). A
# decoded pixel bomb would be 2.7 GB in either.
SERVER_CEILING_MB = 350
WORKER_CEILING_MB = 2200
NOT_UPLOADABLE = {"pipe.mp4", "device.mp4"}


@dataclass
class Outcome:
    case: Case
    status: int
    detail: str | None = None
    analysis: dict[str, Any] | None = None
    report: dict[str, Any] | None = None


class PeakSampler:
    """The highest VmHWM of the server's worker processes, sampled while they live."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.worker_peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for pid in children(self.server.pid):
                self.worker_peak_mb = max(self.worker_peak_mb, peak_rss_mb(pid))

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("api-corpus") / "data", env_extra={"PRESENCE_WORKERS": "2"})
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    key = server.new_key("corpus")
    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as c:
        yield c


@pytest.fixture(scope="module")
def run(
    server: Server, client: httpx.Client, malformed_corpus: list[Case]
) -> tuple[list[Outcome], float, float]:
    outcomes: list[Outcome] = []
    with PeakSampler(server) as sampler:
        for case in malformed_corpus:
            if case.name in NOT_UPLOADABLE:
                continue
            with case.path.open("rb") as f:
                r = client.post("/v1/analyses", files={"file": (case.name, f)})
            body = r.json()
            outcomes.append(Outcome(case, r.status_code, detail=body.get("detail")))
            if r.status_code == 202:
                outcomes[-1].analysis = body
        deadline = time.monotonic() + 600
        for o in outcomes:
            if o.analysis is None:
                continue
            while True:
                a = client.get(f"/v1/analyses/{o.analysis['id']}").json()
                if a["status"] in ("done", "failed") or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            o.analysis = a
            if a["status"] == "done":
                o.report = client.get(f"/v1/analyses/{a['id']}/report").json()
    return outcomes, peak_rss_mb(server.pid), sampler.worker_peak_mb


def _said_well(text: str | None, server: Server) -> bool:
    return (
        text is not None
        and "\n" not in text
        and "Traceback" not in text
        and str(server.data_dir) not in text
        and "/uploads/" not in text
        and "internal error" not in text
    )


def test_each_upload_is_refused_in_one_line_or_analyzed(run, server: Server) -> None:  # type: ignore[no-untyped-def]
    outcomes, _, _ = run
    assert len(outcomes) >= 30
    wrong = []
    for o in outcomes:
        c, a = o.case, o.analysis
        said = o.detail if a is None else a.get("error")
        if o.status >= 500 or o.status not in (202, 413, 415, 422):
            ok = False
        elif c.refused is not None:  # at upload from its headers, or by the worker decoding it
            failed = a is None or a["status"] == "failed"
            ok = failed and _said_well(said, server) and c.refused in (said or "")
        else:
            ok = a is not None and (
                a["status"] == "done"
                or (not c.person and "no person found" in (a.get("error") or ""))
            )
            if ok and c.warning is not None and o.report is not None:
                ok = any(c.warning in w for w in o.report["warnings"])
        if not ok:
            wrong.append(f"{c.name}: {o.status} {said!r} {a and a['status']}")
    assert not wrong, "\n".join(wrong)
    assert "Traceback" not in server.log_text


def test_pixel_bombs_are_refused_at_upload_with_413(run) -> None:  # type: ignore[no-untyped-def]
    outcomes, _, _ = run
    bombs = {o.case.name: o.status for o in outcomes if o.case.name.startswith("bomb")}
    assert bombs and set(bombs.values()) == {413}, bombs


def test_peak_memory_stays_under_the_ceilings(run) -> None:  # type: ignore[no-untyped-def]
    _, server_peak_mb, worker_peak_mb = run
    assert server_peak_mb < SERVER_CEILING_MB, f"API process peak {server_peak_mb:.0f} MB"
    assert 0 < worker_peak_mb < WORKER_CEILING_MB, f"worker peak {worker_peak_mb:.0f} MB"


def test_nothing_is_left_on_disk_after_delete(run, server: Server, client: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    outcomes, _, _ = run
    for o in outcomes:
        if o.analysis is not None:
            assert client.delete(f"/v1/analyses/{o.analysis['id']}").status_code == 204
    left = {
        name: sorted(p.name for p in (server.data_dir / name).iterdir())
        for name in ("uploads", "results", "logs")
    }
    assert left == {"uploads": [], "results": [], "logs": []}
