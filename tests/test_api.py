"""The HTTP service end to end: the real server (uvicorn on a free loopback port), a real HTTP
client, the real pipeline in worker processes, real clips from ../shared/media."""

from __future__ import annotations

import http.client
import json
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import av
import cv2
import httpx
import numpy as np
import pytest

from analyzer.config import AnalyzerConfig
from analyzer.outputs.report import report_json, timeline_csv
from tests.apiserver import Server, peak_rss_mb
from tests.calls import render_call, standard_calls
from tests.clips import write_clip
from tests.conftest import MEDIA, Analyzer, media
from tests.corpus import jpeg_bomb, png_bomb, webp_bomb

CLIP = "talking/liveportrait_d0.mp4"  # 3 s: a quick real analysis


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("api") / "data", env_extra={"PRESENCE_MAX_UPLOAD_MB": "8"})
    s.start()
    yield s
    s.stop()


# No keep-alive: uvicorn closes idle connections after 5 s (and ones whose body it did not read
# to the very end), and httpx then drops the pooled socket without closing it, which pytest
# reports as an unclosed-socket warning. A fresh connection per request sidesteps that.
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


def client_for(server: Server, name: str) -> httpx.Client:
    key = server.new_key(name)
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=NO_KEEPALIVE,
    )


@pytest.fixture(scope="module")
def alice(server: Server) -> Iterator[httpx.Client]:
    with client_for(server, "alice") as c:
        yield c


@pytest.fixture(scope="module")
def bob(server: Server) -> Iterator[httpx.Client]:
    with client_for(server, "bob") as c:
        yield c


def upload(
    client: httpx.Client, path: Path, name: str | None = None, **fields: str
) -> httpx.Response:
    # A fresh connection per upload: uvicorn closes a connection whose request body was not
    # read to the very end (the multipart epilogue), and httpx would then drop the pooled socket
    # without closing it (a ResourceWarning, not a failure).
    with (
        httpx.Client(base_url=client.base_url, headers=client.headers, timeout=60) as c,
        path.open("rb") as f,
    ):
        return c.post("/v1/analyses", files={"file": (name or path.name, f)}, data=fields)


def uploads(server: Server) -> set[str]:
    """The upload folders now in the data folder (jobs queued or running)."""
    return {p.name for p in (server.data_dir / "uploads").iterdir()}


def wait_done(client: httpx.Client, analysis_id: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/analyses/{analysis_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"analysis {analysis_id} did not finish: {body}")


@pytest.fixture(scope="module")
def done_id(alice: httpx.Client) -> str:
    r = upload(alice, media(CLIP), label="couple-7")
    assert r.status_code == 202, r.text
    body = wait_done(alice, r.json()["id"])
    assert body["status"] == "done", body
    return str(body["id"])


def test_health(server: Server) -> None:
    r = httpx.get(f"{server.url}/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["workers"] == 1


def test_report_is_the_pipelines_own_report(
    alice: httpx.Client, done_id: str, analyzed: Analyzer, server: Server
) -> None:
    meta = alice.get(f"/v1/analyses/{done_id}").json()
    assert meta["progress"] == 1.0 and meta["label"] == "couple-7" and meta["attempts"] == 1
    assert meta["input_name"] == "liveportrait_d0.mp4" and meta["error"] is None
    r = alice.get(f"/v1/analyses/{done_id}/report")
    assert r.status_code == 200
    local = analyzed(CLIP, AnalyzerConfig())
    assert r.json() == json.loads(report_json(local))  # same pipeline, same numbers
    t = alice.get(f"/v1/analyses/{done_id}/timeline.csv")
    assert t.status_code == 200 and t.headers["content-type"].startswith("text/csv")
    assert t.text == timeline_csv(local)
    # privacy: the upload is gone once analyzed; only the results stay
    assert list((server.data_dir / "uploads").iterdir()) == []
    assert sorted(p.name for p in (server.data_dir / "results" / done_id).iterdir()) == [
        "report.html",
        "report.json",
        "timeline.csv",
    ]


def test_list_is_own_newest_first_and_paginated(alice: httpx.Client, done_id: str) -> None:
    r2 = upload(alice, media("gaze/zoombi_real_021.jpg"), label="couple-8")
    assert r2.status_code == 202
    page = alice.get("/v1/analyses", params={"limit": 1}).json()
    assert page["total"] >= 2 and page["limit"] == 1 and len(page["items"]) == 1
    assert page["items"][0]["id"] == r2.json()["id"]  # newest first
    labelled = alice.get("/v1/analyses", params={"label": "couple-7"}).json()
    assert [a["id"] for a in labelled["items"]] == [done_id]
    wait_done(alice, r2.json()["id"])


def test_report_html_is_served(alice: httpx.Client, done_id: str) -> None:
    r = alice.get(f"/v1/analyses/{done_id}/report.html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Presence report - liveportrait_d0.mp4" in r.text and "Plotly" in r.text


def test_progress_across_a_clients_sessions(
    alice: httpx.Client, bob: httpx.Client, done_id: str
) -> None:
    second = wait_done(alice, upload(alice, media(CLIP), label="couple-7").json()["id"])
    r = alice.get("/v1/clients/couple-7/progress")
    assert r.status_code == 200
    body = r.json()
    assert body["label"] == "couple-7" and body["sessions"] == 2
    assert [p["analysis_id"] for p in body["points"]] == [done_id, second["id"]]  # oldest first
    report = alice.get(f"/v1/analyses/{done_id}/report").json()
    first = body["points"][0]
    assert first["eye_contact_ratio"] == report["people"][0]["eye_contact"]["ratio"]
    trend = next(t for t in body["trends"] if t["metric"] == "eye_contact_ratio")
    assert trend["measured_sessions"] == 2 and trend["change"] == pytest.approx(0.0)
    page = alice.get("/v1/clients/couple-7/progress.html")
    assert page.status_code == 200 and "Plotly" in page.text
    assert bob.get("/v1/clients/couple-7/progress").status_code == 404  # not his client
    assert alice.get("/v1/clients/nobody/progress").status_code == 404


@pytest.mark.parametrize("route", ["", "/report", "/report.html", "/timeline.csv"])
def test_other_owners_see_nothing(bob: httpx.Client, done_id: str, route: str) -> None:
    assert bob.get(f"/v1/analyses/{done_id}{route}").status_code == 404
    assert bob.get("/v1/analyses").json()["total"] == 0


def test_other_owner_cannot_delete(bob: httpx.Client, alice: httpx.Client, done_id: str) -> None:
    assert bob.delete(f"/v1/analyses/{done_id}").status_code == 404
    assert alice.get(f"/v1/analyses/{done_id}").status_code == 200


def test_no_key_wrong_key_revoked_key_are_401(server: Server, done_id: str) -> None:
    url = f"{server.url}/v1/analyses/{done_id}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer prs_nope"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Basic YTpi"}).status_code == 401
    key = server.new_key("temp")
    assert (
        httpx.get(
            f"{server.url}/v1/analyses", headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 200
    )
    listing = server.cli("keys", "list").stdout
    temp_id = next(line.split("\t")[0] for line in listing.splitlines() if "\ttemp\t" in line)
    assert server.cli("keys", "revoke", temp_id).returncode == 0
    r = httpx.get(f"{server.url}/v1/analyses", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_keys_are_stored_only_as_hashes(server: Server, alice: httpx.Client) -> None:
    key = alice.headers["Authorization"].split()[1]
    assert key.encode() not in (server.data_dir / "presence.db").read_bytes()


def test_oversized_upload_is_413_before_the_body_is_read(
    server: Server, alice: httpx.Client
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", "/v1/analyses")
        conn.putheader("Authorization", alice.headers["Authorization"])
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(500 * 1024 * 1024))  # claims 500 MB; limit 8 MB
        conn.endheaders()
        conn.send(b"--x\r\n")  # and sends almost nothing: the answer must not wait for more
        with conn.getresponse() as resp:
            assert resp.status == 413
            assert "limit of 8 MB" in json.loads(resp.read())["detail"]
    finally:
        conn.close()


def test_oversized_chunked_upload_is_413(alice: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
        for _ in range(20):  # 20 MB, sent without a Content-Length
            yield b"\0" * (1024 * 1024)

    r = alice.post(
        "/v1/analyses", content=body(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("content", "name", "code", "message"),
    [
        (b"dear diary, today we talked\n" * 40, "notes.mp4", 415, "not a readable image or video"),
        (b"", "empty.mp4", 422, "empty"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300, "cut.mp4", 415, "recording is incomplete"),
    ],
    ids=["text-file", "empty", "truncated-header"],
)
def test_bad_files_are_refused_in_one_line(
    alice: httpx.Client, server: Server, content: bytes, name: str, code: int, message: str
) -> None:
    before = uploads(server)
    r = alice.post("/v1/analyses", files={"file": (name, content)})
    assert r.status_code == code, r.text
    detail = r.json()["detail"]
    assert message in detail and "\n" not in detail and str(server.data_dir) not in detail
    assert not uploads(server) - before  # nothing left behind


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fps": "1000"}, "fps"),
        ({"layout": "diagonal"}, "layout"),
        ({"bogus": "1"}, "bogus"),
        ({"label": "x" * 101}, "label"),
    ],
)
def test_bad_options_are_422(alice: httpx.Client, data: dict[str, str], message: str) -> None:
    r = upload(alice, media(CLIP), **data)
    assert r.status_code == 422 and message in r.json()["detail"]


def test_missing_file_and_non_multipart_are_422(alice: httpx.Client) -> None:
    assert alice.post("/v1/analyses", data={"label": "x"}).status_code == 422
    assert alice.post("/v1/analyses", json={"file": "x"}).status_code == 422


def test_filename_with_path_parts_stays_in_the_data_folder(
    alice: httpx.Client, server: Server, tmp_path: Path
) -> None:
    r = upload(alice, media("gaze/zoombi_real_021.jpg"), name="../../../../escape/evil.jpg")
    assert r.status_code == 202
    body = wait_done(alice, r.json()["id"])
    assert body["input_name"] == "evil.jpg" and body["status"] == "done"
    assert not (server.data_dir.parent / "escape").exists()
    assert not Path("/escape").exists()


def test_video_without_people_fails_with_a_clear_error(alice: httpx.Client, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    frames = [np.clip(rng.normal(128, 20, (96, 128, 3)), 0, 255).astype(np.uint8)] * 15
    clip = write_clip(tmp_path / "empty_room.mp4", frames)
    body = wait_done(alice, upload(alice, clip).json()["id"])
    assert body["status"] == "failed"
    assert body["error"] == "empty_room.mp4: no person found in 15 analyzed frame(s)"
    r = alice.get(body["links"]["report"])
    assert r.status_code == 409 and "failed" in r.json()["detail"]


def test_failed_analysis_keeps_a_log_without_names_and_delete_removes_it(
    alice: httpx.Client, server: Server, tmp_path: Path
) -> None:
    rng = np.random.default_rng(5)
    frames = [np.clip(rng.normal(128, 20, (96, 128, 3)), 0, 255).astype(np.uint8)] * 15
    clip = write_clip(tmp_path / "Our private talk.mp4", frames)
    body = wait_done(alice, upload(alice, clip).json()["id"])
    assert body["status"] == "failed" and body["error"].startswith("Our private talk.mp4: ")
    log = server.data_dir / "logs" / f"{body['id']}.log"
    text = log.read_text(errors="replace")  # the native libraries' lines, kept for the admin
    assert "private talk" not in text and str(server.data_dir) not in text
    assert alice.delete(f"/v1/analyses/{body['id']}").status_code == 204
    assert not log.exists()


LABELS_OK = ["couple-77", "Ana & Ben", "O'Neill", "Zoë_2", "हिंदी", "李小龙", "v1.2"]


def test_labels_of_any_script_are_kept_and_reachable(alice: httpx.Client) -> None:
    ids = {}
    for label in LABELS_OK:
        r = upload(alice, media("gaze/zoombi_real_021.jpg"), label=label)
        assert r.status_code == 202, (label, r.text)
        ids[label] = r.json()["id"]
    for label, analysis_id in ids.items():
        assert wait_done(alice, analysis_id)["status"] == "done"
        listed = alice.get("/v1/analyses", params={"label": label}).json()
        assert [a["id"] for a in listed["items"]] == [analysis_id], label
        r = alice.get(f"/v1/clients/{quote(label, safe='')}/progress")
        assert r.status_code == 200 and r.json()["label"] == label, (label, r.text)
    # the same label in another Unicode form is the same label
    decomposed = unicodedata.normalize("NFD", "Zoë_2")
    assert alice.get("/v1/analyses", params={"label": decomposed}).json()["total"] == 1


@pytest.mark.parametrize(
    "label",
    ["a/b", "a\\b", "..", " lead", "trail ", "x" * 101, "tab\there", "a\u202eb", "why?", "50%"],
)
def test_labels_breaking_the_rule_are_refused_in_one_line(
    alice: httpx.Client, server: Server, label: str
) -> None:
    before = uploads(server)
    r = upload(alice, media("gaze/zoombi_real_021.jpg"), label=label)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("label: ") and "\n" not in detail
    assert not uploads(server) - before
    r = alice.get("/v1/analyses", params={"label": label})
    assert r.status_code == 422 and r.json()["detail"].startswith("label: ")


def test_progress_routes_refuse_labels_breaking_the_rule(alice: httpx.Client) -> None:
    for label in ["why%3F", "%E2%80%AEx", "..%20", "a%00"]:
        for page in ("progress", "progress.html"):
            r = alice.get(f"/v1/clients/{label}/{page}")
            assert r.status_code == 422, (label, r.text)
            assert r.json()["detail"].startswith("label: ")


@pytest.mark.parametrize(
    ("make", "code", "phrase"),
    [
        (lambda p: png_bomb(p, side=30000), 413, "not decoded"),
        (lambda p: png_bomb(p, side=8000), 413, "million"),
        (jpeg_bomb, 413, "million"),
        (webp_bomb, 413, "million"),
        (lambda p: cv2.imwrite(str(p), np.zeros((1, 1, 3), np.uint8)), 422, "too small"),
    ],
    ids=["png-30000", "png-8000", "jpeg-30000", "webp-16383", "png-1x1"],
)
def test_pictures_too_large_or_too_small_are_refused_from_their_header(
    alice: httpx.Client,
    server: Server,
    tmp_path: Path,
    make: Callable[[Path], object],
    code: int,
    phrase: str,
) -> None:
    path = tmp_path / "picture.png"
    make(path)
    before, before_mb = uploads(server), peak_rss_mb(server.pid)
    r = upload(alice, path, layout="stacked")
    assert r.status_code == code, r.text
    detail = r.json()["detail"]
    assert phrase in detail and detail.startswith("picture.png: ") and "\n" not in detail
    assert not uploads(server) - before
    assert peak_rss_mb(server.pid) - before_mb < 50  # nothing decoded (30000² is 2.7 GB)


def test_unknown_routes_and_malformed_ids(alice: httpx.Client) -> None:
    assert alice.get("/v1/nothing-here").status_code == 404
    assert alice.get("/v1/analyses/not-a-uuid").status_code == 422
    assert alice.get("/v1/analyses/0123456789abcdef0123456789abcdef").status_code == 404
    assert alice.get("/v1/analyses/not-a-uuid/report").status_code == 422


def test_delete_removes_everything(alice: httpx.Client, server: Server) -> None:
    r = upload(alice, media("gaze/zoombi_real_021.jpg"))
    analysis_id = wait_done(alice, r.json()["id"])["id"]
    assert (server.data_dir / "results" / analysis_id).exists()
    assert alice.delete(f"/v1/analyses/{analysis_id}").status_code == 204
    assert alice.get(f"/v1/analyses/{analysis_id}").status_code == 404
    assert not (server.data_dir / "results" / analysis_id).exists()
    assert alice.delete(f"/v1/analyses/{analysis_id}").status_code == 404


def test_openapi_lists_every_route_with_a_response_model(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) == {
        "/healthz",
        "/practice",
        "/v1/analyses",
        "/v1/analyses/{analysis_id}",
        "/v1/analyses/{analysis_id}/report",
        "/v1/analyses/{analysis_id}/report.html",
        "/v1/clients/{label}/progress",
        "/v1/clients/{label}/progress.html",
        "/v1/analyses/{analysis_id}/timeline.csv",
        "/v1/analyses/{analysis_id}/reel.mp4",
    }
    ok = paths["/v1/analyses/{analysis_id}/report"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/Report")
    assert "multipart/form-data" in paths["/v1/analyses"]["post"]["requestBody"]["content"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


@pytest.mark.slow
def test_reel_of_a_call_and_none_for_one_person(
    alice: httpx.Client, bob: httpx.Client, done_id: str, tmp_path: Path
) -> None:
    spec = next(c for c in standard_calls() if c.name == "facetime_portrait")  # one moment
    path = tmp_path / "call.mp4"
    render_call(spec, path, MEDIA)
    body = wait_done(alice, upload(alice, path).json()["id"])
    assert body["status"] == "done", body
    assert body["links"]["reel"] == f"/v1/analyses/{body['id']}/reel.mp4"
    r = alice.get(body["links"]["reel"])
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    reel = tmp_path / "reel.mp4"
    reel.write_bytes(r.content)
    with av.open(str(reel)) as c:
        assert c.streams.video and c.streams.audio
    assert bob.get(body["links"]["reel"]).status_code == 404  # another owner's reel
    # one person: no reel, and the reason
    r = alice.get(f"/v1/analyses/{done_id}/reel.mp4")
    assert r.status_code == 404
    assert "no reel: the moments reel is for two people" in r.json()["detail"]
    # asked not to make one
    body = wait_done(alice, upload(alice, path, reel="false").json()["id"])
    r = alice.get(body["links"]["reel"])
    assert r.status_code == 404 and "not asked for" in r.json()["detail"]


def test_job_survives_a_killed_server(tmp_path: Path) -> None:
    """SIGKILL the server while it analyses; start it again; the job is re-queued and done."""
    server = Server(tmp_path / "data", env_extra={"PRESENCE_HEARTBEAT_TIMEOUT_S": "4"})
    server.start()
    key = server.new_key("k")
    auth = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(
            base_url=server.url, headers=auth, timeout=60, limits=NO_KEEPALIVE
        ) as client:
            r = upload(client, media("talking/liveportrait_d6.mp4"))  # 34 s clip: ~15 s of work
            analysis_id = r.json()["id"]
            deadline = time.monotonic() + 60
            while client.get(f"/v1/analyses/{analysis_id}").json()["progress"] < 0.05:
                assert time.monotonic() < deadline, "the job never started making progress"
                time.sleep(0.3)
        server.kill()
        time.sleep(1.0)  # the worker dies with its parent (no orphan finishing the job)
        server.start()
        with httpx.Client(
            base_url=server.url, headers=auth, timeout=60, limits=NO_KEEPALIVE
        ) as client:
            body = wait_done(client, analysis_id, timeout_s=240)
            assert body["status"] == "done" and body["attempts"] == 2
            report = client.get(f"/v1/analyses/{analysis_id}/report").json()
        assert report["video"]["name"] == "liveportrait_d6.mp4" and len(report["people"]) == 1
    finally:
        server.stop()
