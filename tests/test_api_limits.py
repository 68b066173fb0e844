"""Connections and uploads at their limits, on the real server (uvicorn on loopback, short
limits set through PRESENCE_* variables): an upload streamed once straight into the data
folder; request heads, bodies and idle connections that are too slow cut off; a connection cap;
a bound on heavy pages."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from anyio.from_thread import start_blocking_portal

from api.keys import create_key
from api.main import create_app
from api.settings import ApiSettings
from tests.apiserver import Server
from tests.conftest import media, models_dir

LIMITS = {
    "PRESENCE_HEADER_TIMEOUT_S": "2",
    "PRESENCE_BODY_TIMEOUT_S": "2",
    "PRESENCE_BODY_MIN_RATE_KB_S": "64",
    "PRESENCE_KEEP_ALIVE_S": "1",
    "PRESENCE_MAX_CONNECTIONS": "6",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("limits") / "data", env_extra=LIMITS)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return server.new_key("limits")


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def closed_within(s: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``s`` (reading whatever it sent), or None."""
    t0 = time.monotonic()
    s.settimeout(seconds)
    try:
        while s.recv(4096):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - t0


def read_answer(s: socket.socket, first: bytes = b"") -> bytes:
    """The rest of an answer sent with Connection: close."""
    s.settimeout(10)
    answer = first
    try:
        while chunk := s.recv(65536):
            answer += chunk
    except ConnectionResetError:  # closed with our unread bytes in its buffer: all was said
        pass
    return answer


def multipart_head(key: str, length: int, name: str = "clip.mp4") -> tuple[bytes, bytes]:
    """The request head and the file part's head of a multipart upload of ``length`` bytes."""
    part = f'--x\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
    tail = b"\r\n--x--\r\n"
    head = (
        f"POST /v1/analyses HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {len(part) + length + len(tail)}\r\n\r\n"
    ).encode()
    return head + part, tail


def open_files(pid: int) -> list[str]:
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            out.append(str(fd.readlink()))
        except OSError:
            continue
    return out


def test_upload_is_written_once_straight_into_the_data_folder(server: Server, key: str) -> None:
    data = media("conversation/vv_interview.mp4").read_bytes()
    head, tail = multipart_head(key, len(data))
    half = len(data) // 2
    with connect(server) as s:
        s.sendall(head + data[:half])
        deadline = time.monotonic() + 20
        written = 0
        while time.monotonic() < deadline:
            files = open_files(server.pid)
            ours = [f for f in files if re.search(r"/uploads/[0-9a-f]{32}/upload\.mp4$", f)]
            if ours and Path(ours[0]).stat().st_size >= half - (1 << 20):
                written = Path(ours[0]).stat().st_size
                break
            time.sleep(0.05)
        # the upload is being written into its own folder as it arrives, and nowhere else:
        # no spooled temporary copy (it would show as an open, deleted file)
        assert written >= half - (1 << 20), files
        assert Path(ours[0]).stat().st_mode & 0o777 == 0o600
        assert not [f for f in files if f.endswith("(deleted)")], files
        s.sendall(data[half:] + tail)
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 202"), answer[:300]


def test_a_connection_that_sends_no_request_head_is_closed(server: Server) -> None:
    with connect(server) as s:  # sends nothing at all
        took = closed_within(s, 10)
    assert took is not None and took < 5
    with connect(server) as s:  # slowloris: the head a byte at a time
        t0 = time.monotonic()
        with pytest.raises(OSError):
            for b in b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100:
                s.sendall(bytes([b]))
                time.sleep(0.25)
        assert time.monotonic() - t0 < 6


def uploads(server: Server) -> set[str]:
    return {p.name for p in (server.data_dir / "uploads").iterdir()}


def test_a_paused_body_is_408_and_leaves_nothing(server: Server, key: str) -> None:
    before = uploads(server)
    head, _ = multipart_head(key, 1_000_000)
    with connect(server) as s:
        s.sendall(head + b"\0" * 1000)  # and then nothing
        t0 = time.monotonic()
        answer = read_answer(s)
        took = time.monotonic() - t0
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"paused for more than 2 s" in answer and 1.5 < took < 6
    assert not uploads(server) - before  # no folder of its own left


def test_a_trickling_body_is_408(server: Server, key: str) -> None:
    before = uploads(server)
    head, _ = multipart_head(key, 1_000_000)
    with connect(server) as s:
        s.sendall(head)
        s.settimeout(0.5)
        answer = b""
        t0 = time.monotonic()
        while not answer and time.monotonic() - t0 < 20:
            try:
                s.sendall(b"\0" * 2000)  # 4 KB/s, the limit is 64 KB/s
                answer = s.recv(4096)
            except TimeoutError:
                continue
        answer = read_answer(s, answer)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"too slowly" in answer
    assert not uploads(server) - before  # no folder of its own left


def test_an_idle_kept_alive_connection_is_closed(server: Server) -> None:
    with connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        took = closed_within(s, 10)
    assert took is not None and took < 3


def test_connections_over_the_cap_are_answered_503(server: Server) -> None:
    held = [connect(server) for _ in range(6)]
    try:
        time.sleep(0.2)
        r = httpx.get(f"{server.url}/healthz", timeout=10)
        assert r.status_code == 503
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_heavy_pages_wait_for_a_turn_then_503(tmp_path: Path) -> None:
    """In-process (the real app and store, no server) to hold every turn deterministically."""
    settings = ApiSettings(
        data_dir=tmp_path / "data", models_dir=models_dir(), heavy_requests=1, heavy_wait_s=0.2
    )
    app = create_app(settings, run_jobs=False)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        state = app.state.presence
        auth = {"Authorization": f"Bearer {create_key(state.engine, 'k').key}"}

        async def progress() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as c:
                return await c.get("/v1/clients/someone/progress.html", headers=auth)

        async def busy() -> httpx.Response:
            async with state.heavy:  # another request is drawing a report
                return await progress()

        r = portal.call(busy)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert "try again" in r.json()["detail"]
        r = portal.call(progress)  # the turn is free again
        assert r.status_code == 404
