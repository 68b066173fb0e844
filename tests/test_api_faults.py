"""Faults on the real server: a worker killed or crashing mid-job, a results folder that cannot
be written, a full disk, a careless umask. Each ends cleanly: the job is retried or failed with
a one-line reason that shows no server path, the server stays up, the upload is removed and
nothing is left half-written; the data folder stays private."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import plotly.offline
import pytest

from tests.apiserver import Server
from tests.clips import write_clip
from tests.conftest import media

CLIP = "talking/WDA_KatieHill_000.mp4"  # 8 s, 3.5 MB: a few seconds of work
SHORT_CLIP = "talking/liveportrait_d18.mp4"  # 190 kB
IMAGE = "gaze/zoombi_real_021.jpg"


def client_for(server: Server) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.new_key('faults')}"},
        timeout=60,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def upload(client: httpx.Client, path: Path, name: str | None = None) -> httpx.Response:
    with path.open("rb") as f:
        return client.post("/v1/analyses", files={"file": (name or path.name, f)})


def wait_for(client: httpx.Client, analysis_id: str, done: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        body = client.get(f"/v1/analyses/{analysis_id}").json()
        if done(body):
            return body
        time.sleep(0.3)
    raise AssertionError(f"analysis {analysis_id} never got there: {body}")


def ended(body: dict[str, Any]) -> bool:
    return body["status"] in ("done", "failed")


def worker_of(server: Server) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.workers():
            return server.workers()[0]
        time.sleep(0.1)
    raise AssertionError("no worker process")


def left_on_disk(server: Server, analysis_id: str) -> list[str]:
    """Anything of the analysis in uploads/ and results/ (whole or half-written)."""
    return sorted(
        str(p.relative_to(server.data_dir))
        for p in server.data_dir.glob("[ur]*/*")  # uploads/*, results/*
        if analysis_id in p.name
    )


def no_path_in(reason: str, server: Server) -> bool:
    return "\n" not in reason and "/" not in reason and str(server.data_dir) not in reason


@pytest.fixture
def two_attempts(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "data", env_extra={"PRESENCE_MAX_ATTEMPTS": "2"})
    s.start()
    yield s
    s.stop()


def test_a_killed_worker_is_retried_and_a_crashing_one_fails_the_job(
    two_attempts: Server,
) -> None:
    server = two_attempts
    with client_for(server) as client:
        # SIGKILL of the worker alone, mid-job: the job is run again and done
        first = upload(client, media(CLIP), name="Our talk.mp4").json()["id"]
        wait_for(client, first, lambda b: b["progress"] >= 0.05)
        os.kill(worker_of(server), signal.SIGKILL)
        body = wait_for(client, first, ended)
        assert body["status"] == "done" and body["attempts"] == 2, body
        assert client.get(f"/v1/analyses/{first}/report").json()["video"]["name"] == "Our talk.mp4"
        assert left_on_disk(server, first) == [f"results/{first}"]  # the upload is gone
        # a native crash (SIGSEGV) in each attempt: the job fails, the server stays up
        second = upload(client, media(CLIP)).json()["id"]
        for attempt in (1, 2):
            wait_for(client, second, lambda b, a=attempt: b["attempts"] == a and b["progress"] > 0)
            os.kill(worker_of(server), signal.SIGSEGV)
        body = wait_for(client, second, ended)
        assert body["status"] == "failed" and body["attempts"] == 2, body
        assert "interrupted 2 times" in body["error"] and "crashed (SIGSEGV)" in body["error"]
        assert no_path_in(body["error"], server)
        assert left_on_disk(server, second) == []
        assert client.get("/healthz").json()["status"] == "ok"
        assert server.proc is not None and server.proc.poll() is None


def test_a_results_folder_that_cannot_be_written_fails_cleanly(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    server.start()
    results = server.data_dir / "results"
    try:
        with client_for(server) as client:
            # as root a folder's mode does not stop writes; a file where the folder was does
            shutil.rmtree(results)
            results.write_text("not a folder")
            analysis_id = upload(client, media(IMAGE)).json()["id"]
            body = wait_for(client, analysis_id, ended)
            assert body["status"] == "failed", body
            assert body["error"].startswith("the server could not save the results ("), body
            assert no_path_in(body["error"], server)
            assert left_on_disk(server, analysis_id) == []
            r = client.get(f"/v1/analyses/{analysis_id}/report")
            assert r.status_code == 409 and no_path_in(r.json()["detail"], server)
    finally:
        server.stop()


FSIZE_LIMIT = 3 * 1024 * 1024


def small_disk() -> None:
    """No file the server (or its workers) writes may pass 3 MB, as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))


def test_a_full_disk_fails_uploads_and_results_cleanly(tmp_path: Path) -> None:
    big = media(CLIP)
    assert big.stat().st_size > FSIZE_LIMIT  # the upload cannot be written whole
    assert len(plotly.offline.get_plotlyjs()) > FSIZE_LIMIT  # nor can report.html
    server = Server(tmp_path / "data", preexec=small_disk)
    server.start()
    try:
        with client_for(server) as client:
            r = upload(client, big)
            assert r.status_code == 507, r.text
            assert r.json()["detail"].startswith("no room on the server for this upload now")
            assert list((server.data_dir / "uploads").iterdir()) == []  # nothing half-written
            analysis_id = upload(client, media(SHORT_CLIP)).json()["id"]
            body = wait_for(client, analysis_id, ended)
            assert body["status"] == "failed", body
            assert body["error"] == "the server could not save the results (File too large)"
            assert left_on_disk(server, analysis_id) == []  # no half-written results
            assert client.get("/healthz").status_code == 200
    finally:
        server.stop()


def modes(root: Path) -> dict[str, str]:
    out = {}
    for p in [root, *root.rglob("*")]:
        st = p.lstat()
        if not stat.S_ISLNK(st.st_mode):
            out[str(p.relative_to(root))] = oct(stat.S_IMODE(st.st_mode))
    return out


def test_the_data_folder_is_private_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "uploads" / "old").mkdir(parents=True)  # a folder from an older version: 0755
    (data / "uploads" / "old" / "clip.mp4").write_bytes(b"x")
    for p in (data, data / "uploads", data / "uploads" / "old"):
        p.chmod(0o755)
    (data / "uploads" / "old" / "clip.mp4").chmod(0o644)
    rng = np.random.default_rng(4)
    noise = [np.clip(rng.normal(128, 20, (96, 128, 3)), 0, 255).astype(np.uint8)] * 15
    nobody = write_clip(tmp_path / "empty_room.mp4", noise)
    server = Server(data, env_extra={"PRESENCE_KEEP_UPLOADS": "true"}, preexec=lambda: os.umask(0))
    old_umask = os.umask(0)  # `presence keys create` below runs with it too
    try:
        server.start()
        with client_for(server) as client:
            ok = upload(client, media(IMAGE)).json()["id"]
            failed = upload(client, nobody).json()["id"]  # a failed job keeps its log
            assert wait_for(client, ok, ended)["status"] == "done"
            assert wait_for(client, failed, ended)["status"] == "failed"
    finally:
        os.umask(old_umask)
        server.stop()
    found = modes(data)
    assert "presence.db" in found and f"results/{ok}/report.html" in found
    assert f"logs/{failed}.log" in found
    assert any(name.startswith(f"uploads/{ok}/") for name in found)
    wrong = {
        name: mode
        for name, mode in found.items()
        if mode != ("0o700" if (data / name).is_dir() else "0o600")
    }
    assert wrong == {}
