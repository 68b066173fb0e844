"""Cluster mode end to end: a real PostgreSQL (tests/pg.py), an S3-compatible store (moto's
standalone server), an API-only `presence serve` (PRESENCE_WORKERS=0) and two `presence
worker` processes, each with its own data folder as if on its own machine.

Shown: uploads analyzed by the workers with the pipeline's own report; a worker SIGKILLed
mid-job and its job completed once by the other; a long video split into segment jobs that
both workers run at once, faster than one worker and with the unsplit report (within the
segment-parallel tolerances), also when a worker is killed mid-segment; DELETE removes
everything in the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from analyzer.config import AnalyzerConfig
from analyzer.models import ModelPaths
from analyzer.outputs.report import report_json
from tests.apiserver import Server, children, cmdline, free_port
from tests.conftest import media, models_dir
from tests.pg import postgres
from tests.test_api import upload, wait_done

BUCKET = "presence-test"
CLIP = "talking/liveportrait_d0.mp4"  # 3 s
MID = "talking/dn_webcam_interview.mp4"  # 23.4 s: long enough to kill a worker mid-job
LONG = "talking/liveportrait_d6.mp4"  # 33.6 s: split into two segments of ~17 s
HEARTBEAT_TIMEOUT_S = 4
SPLIT_ABOVE_S = 30
SPLIT_SEGMENT_S = 17


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PRESENCE_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "PRESENCE_STORAGE_URL": f"s3://{BUCKET}/presence",
    }
    import boto3

    boto3.client(
        "s3",
        endpoint_url=env["PRESENCE_S3_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    yield env
    server.stop()


def _objects(s3: dict[str, str], prefix: str) -> list[str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3["PRESENCE_S3_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    found = client.list_objects_v2(Bucket=BUCKET, Prefix=f"presence/{prefix}")
    return [o["Key"] for o in found.get("Contents", [])]


class Worker:
    """`presence worker` in its own process group and its own data folder."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.log = data_dir.parent / f"{data_dir.name}.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "analyzer.cli", "worker", "--concurrency", "1"],
                env={**os.environ, **env, "PRESENCE_DATA_DIR": str(data_dir)},
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def busy(self) -> bool:
        """An analysis child is running under it."""
        return any("spawn_main" in cmdline(c) for c in children(self.proc.pid))

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _replace(workers: list[Worker], gone: Worker, env: dict[str, str]) -> None:
    """A new worker, on a data folder of its own, in place of one killed or stopped."""
    i = workers.index(gone)
    workers[i] = Worker(gone.log.parent / f"worker-{time.monotonic_ns()}", env)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, s3: dict[str, str]
) -> Iterator[tuple[Server, list[Worker], dict[str, str]]]:
    root = tmp_path_factory.mktemp("cluster")
    with postgres() as url:
        env = {
            **s3,
            "PRESENCE_DATABASE_URL": url,
            "PRESENCE_MODELS_DIR": str(models_dir()),
            "PRESENCE_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S),
            "PRESENCE_JOBS": "1",
            "PRESENCE_SPLIT_ABOVE_S": str(SPLIT_ABOVE_S),
            "PRESENCE_SPLIT_SEGMENT_S": str(SPLIT_SEGMENT_S),
        }
        api = Server(root / "api", env_extra={**env, "PRESENCE_WORKERS": "0"})
        api.start()
        workers = [Worker(root / f"worker{i}", env) for i in (1, 2)]
        try:
            yield api, workers, env
        finally:
            for w in workers:
                w.stop()
            api.stop()


@pytest.fixture(scope="module")
def client(cluster: tuple[Server, list[Worker], dict[str, str]]) -> Iterator[httpx.Client]:
    api = cluster[0]
    key = api.new_key("coach")
    with httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as c:
        yield c


def test_api_only_node_queues_and_workers_analyze_with_the_pipelines_report(
    cluster: tuple[Server, list[Worker], dict[str, str]],
    client: httpx.Client,
    s3: dict[str, str],
    model_paths: ModelPaths,
) -> None:
    from analyzer.pipeline import analyze

    api = cluster[0]
    r = upload(client, media(CLIP), label="couple-1")
    assert r.status_code == 202, r.text
    analysis_id = r.json()["id"]
    body = wait_done(client, analysis_id)
    assert body["status"] == "done", body
    assert body["attempts"] == 1
    local = analyze(media(CLIP), model_paths, AnalyzerConfig(), jobs=1)
    report = client.get(f"/v1/analyses/{analysis_id}/report")
    assert report.status_code == 200
    assert report.json() == json.loads(report_json(local))  # same pipeline, same numbers
    page = client.get(f"/v1/analyses/{analysis_id}/report.html")
    assert page.status_code == 200 and "<html" in page.text[:500].lower()
    # served from the store a byte range at a time when asked (a player seeking)
    whole = client.get(f"/v1/analyses/{analysis_id}/timeline.csv")
    part = client.get(f"/v1/analyses/{analysis_id}/timeline.csv", headers={"Range": "bytes=10-99"})
    assert whole.status_code == 200 and part.status_code == 206
    assert part.content == whole.content[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole.content)}"
    past = client.get(
        f"/v1/analyses/{analysis_id}/timeline.csv", headers={"Range": "bytes=9999999-"}
    )
    assert past.status_code == 416
    # kept in the store, not on the API node; the upload is gone once analyzed
    assert sorted(k.rsplit("/", 1)[-1] for k in _objects(s3, f"results/{analysis_id}/")) == [
        "report.html",
        "report.json",
        "timeline.csv",
    ]
    assert _gone(s3, f"uploads/{analysis_id}/") == []
    assert not (api.data_dir / "results" / analysis_id).exists()
    # DELETE removes everything in the store too
    assert client.delete(f"/v1/analyses/{analysis_id}").status_code == 204
    assert _objects(s3, f"results/{analysis_id}/") == []
    assert client.get(f"/v1/analyses/{analysis_id}").status_code == 404


def test_worker_killed_mid_job_the_job_completes_once_on_the_other(
    cluster: tuple[Server, list[Worker], dict[str, str]], client: httpx.Client, s3: dict[str, str]
) -> None:
    _, workers, env = cluster
    r = upload(client, media(MID))
    assert r.status_code == 202, r.text
    analysis_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(w.busy() for w in workers):
        time.sleep(0.2)
    victim = next(w for w in workers if w.busy())
    survivor = next(w for w in workers if w is not victim)
    time.sleep(2.0)  # mid-job
    assert client.get(f"/v1/analyses/{analysis_id}").json()["status"] == "running"
    victim.kill()
    killed_at = time.monotonic()
    _replace(workers, victim, env)
    retried_after: float | None = None
    body: dict[str, Any] = {}
    while time.monotonic() < killed_at + 240:
        body = client.get(f"/v1/analyses/{analysis_id}").json()
        if retried_after is None and body["attempts"] >= 2:
            retried_after = time.monotonic() - killed_at
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert body["status"] == "done", body
    assert body["attempts"] == 2  # the killed attempt, then one on the survivor
    assert retried_after is not None
    print(
        f"retried {retried_after:.1f} s after SIGKILL (heartbeat timeout {HEARTBEAT_TIMEOUT_S} s)"
    )
    assert survivor.proc.poll() is None
    keys = _objects(s3, f"results/{analysis_id}/")
    assert sorted(k.rsplit("/", 1)[-1] for k in keys) == [
        "report.html",
        "report.json",
        "timeline.csv",
    ]
    assert _gone(s3, f"uploads/{analysis_id}/") == []
    assert client.get(f"/v1/analyses/{analysis_id}/report").status_code == 200


def _gone(s3: dict[str, str], prefix: str, timeout_s: float = 20) -> list[str]:
    """What is left under ``prefix`` once a worker's clean-up after finishing has had time
    (it runs after the analysis is marked done)."""
    deadline = time.monotonic() + timeout_s
    left = _objects(s3, prefix)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = _objects(s3, prefix)
    return left


def _segments_running(env: dict[str, str], analysis_id: str) -> int:
    """Segments of the analysis that a worker has begun and not finished (from the database)."""
    import psycopg

    with psycopg.connect(env["PRESENCE_DATABASE_URL"]) as conn:
        row = conn.execute(
            "SELECT count(*) FROM analysis_segments "
            "WHERE analysis_id = %s AND tries > 0 AND NOT done",
            (analysis_id,),
        ).fetchone()
    return int(row[0]) if row else 0


def _assert_like_unsplit(split: dict[str, Any], whole: dict[str, Any], seams: int) -> None:
    """The segment-parallel tolerances (tests/test_segments.py): the same frames, the same
    people, eye contact within 0.01, nods within one per seam."""
    assert split["video"] == whole["video"]
    assert split["warnings"] == whole["warnings"]
    assert [p["position"] for p in split["people"]] == [p["position"] for p in whole["people"]]
    for a, b in zip(whole["people"], split["people"], strict=True):
        ra, rb = a["eye_contact"]["ratio"], b["eye_contact"]["ratio"]
        assert (ra is None) == (rb is None)
        if ra is not None:
            assert abs(ra - rb) <= 0.01, (ra, rb)
        na, nb = a["head"]["nods"], b["head"]["nods"]
        assert (na is None) == (nb is None)
        if na is not None:
            assert abs(na - nb) <= seams, (na, nb)


def _run_long(client: httpx.Client, workers: list[Worker]) -> tuple[str, float, bool]:
    """Upload the long clip and wait: its id, seconds to done, whether two workers were
    observing segments at the same moment."""
    started = time.monotonic()
    r = upload(client, media(LONG))
    assert r.status_code == 202, r.text
    analysis_id = r.json()["id"]
    together = False
    body: dict[str, Any] = {}
    while time.monotonic() < started + 300:
        together = together or sum(w.busy() for w in workers if w.proc.poll() is None) >= 2
        body = client.get(f"/v1/analyses/{analysis_id}").json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert body["status"] == "done", body
    return analysis_id, time.monotonic() - started, together


def test_long_video_split_across_both_workers_is_faster_with_the_unsplit_report(
    cluster: tuple[Server, list[Worker], dict[str, str]],
    client: httpx.Client,
    s3: dict[str, str],
    model_paths: ModelPaths,
) -> None:
    from analyzer.pipeline import analyze

    _, workers, env = cluster
    whole = json.loads(report_json(analyze(media(LONG), model_paths, AnalyzerConfig(), jobs=1)))
    two_id, two_s, together = _run_long(client, workers)
    assert together  # both workers observed a segment at once
    split = client.get(f"/v1/analyses/{two_id}/report").json()
    _assert_like_unsplit(split, whole, seams=1)
    assert _gone(s3, f"work/{two_id}/") == []  # the segments' results are gone once done
    assert _gone(s3, f"uploads/{two_id}/") == []
    # the same with one worker: the segments one after the other
    workers[1].stop()
    try:
        one_id, one_s, _ = _run_long(client, workers[:1])
    finally:
        _replace(workers, workers[1], env)
    one = client.get(f"/v1/analyses/{one_id}/report").json()
    assert one["people"] == split["people"]  # where the cuts are decides it, not who ran them
    print(f"long video: 2 workers {two_s:.1f} s, 1 worker {one_s:.1f} s: {one_s / two_s:.2f}x")
    assert one_s > two_s


def test_worker_killed_mid_segment_the_long_video_completes_once(
    cluster: tuple[Server, list[Worker], dict[str, str]],
    client: httpx.Client,
    s3: dict[str, str],
) -> None:
    _, workers, env = cluster
    r = upload(client, media(LONG))
    assert r.status_code == 202, r.text
    analysis_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _segments_running(env, analysis_id) < 2:
        time.sleep(0.1)  # both segments taken: each worker (concurrency 1) observes one
    assert _segments_running(env, analysis_id) == 2
    time.sleep(2.0)
    victim = next(w for w in workers if w.busy())
    victim.kill()
    _replace(workers, victim, env)
    body = wait_done(client, analysis_id, timeout_s=240)
    assert body["status"] == "done", body
    assert body["attempts"] == 1  # the attempt went on: only the killed segment was run again
    report = client.get(f"/v1/analyses/{analysis_id}/report")
    assert report.status_code == 200
    assert _gone(s3, f"work/{analysis_id}/") == []
    keys = _objects(s3, f"results/{analysis_id}/")
    assert sorted(k.rsplit("/", 1)[-1] for k in keys) == [
        "report.html",
        "report.json",
        "timeline.csv",
    ]
