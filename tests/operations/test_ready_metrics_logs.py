"""/ready, /metrics, request ids and LOG_FORMAT, against real server processes."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.state import make_file_nodes, make_space
from tests.fixtures.oxigraph import start_oxigraph


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_ready_reports_ok_then_names_the_failed_blob_store(server_factory):
    server = server_factory()
    response = httpx.get(f"{server.url}/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"blobs": "ok", "graph": "ok"}}

    staging = server.data_dir / "blobs" / ".staging"
    os.rename(staging, staging.with_name("moved-away"))
    try:
        response = httpx.get(f"{server.url}/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["graph"] == "ok"
        assert "missing" in body["checks"]["blobs"] and body["detail"].startswith("not ready: blobs: ")
        assert httpx.get(f"{server.url}/health").status_code == 200  # liveness does not depend on the stores
    finally:
        os.rename(staging.with_name("moved-away"), staging)
    assert httpx.get(f"{server.url}/ready").status_code == 200


def test_ready_names_the_failed_graph_store(server_factory, tmp_path):
    sparql = start_oxigraph(tmp_path / "oxigraph")
    try:
        server = server_factory(
            {
                "VITALGRAPH_GRAPH_BACKEND": "sparql",
                "VITALGRAPH_SPARQL_QUERY_URL": sparql.query_url,
                "VITALGRAPH_SPARQL_UPDATE_URL": sparql.update_url,
            }
        )
        assert httpx.get(f"{server.url}/ready").json()["checks"] == {"blobs": "ok", "graph": "ok"}
    finally:
        sparql.stop()
    response = httpx.get(f"{server.url}/ready", timeout=30)
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["blobs"] == "ok"
    assert body["checks"]["graph"] != "ok" and "graph: " in body["detail"]


def test_metrics_count_bytes_errors_and_durations_by_route(local_server):
    data = os.urandom(3 * 1024 * 1024 + 17)
    with local_server.client() as api:
        space = make_space(api)
        [uri] = make_file_nodes(api, space, 1)
        before = scrape(local_server.url)
        params = {"space_id": space, "uri": uri}
        assert api.post("/api/files/stream/upload", params=params, content=data).status_code == 200
        assert api.get("/api/files/stream/download", params=params).content == data
        assert api.get("/api/files", params={"space_id": space, "uri": uri + "-missing"}).status_code == 404
    after = scrape(local_server.url)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("vitalgraph_uploaded_bytes_total") == len(data)
    assert grew("vitalgraph_downloaded_bytes_total") == len(data)
    assert grew("vitalgraph_errors_total", kind="NotFoundError", status="404") == 1
    upload_route = dict(method="POST", route="/api/files/stream/upload", status="200")
    assert grew("vitalgraph_request_duration_seconds_count", **upload_route) == 1
    assert after[("vitalgraph_transfers_in_flight", (("direction", "upload"),))] == 0
    assert ("vitalgraph_event_loop_lag_max_seconds", ()) in after


def test_the_served_process_froze_its_start_up_objects_out_of_the_garbage_collector(local_server):
    """A full collection over them stopped the event loop for 35-100 ms (cli._freeze_start_up_objects)."""
    frozen = scrape(local_server.url)[("vitalgraph_gc_frozen_objects", ())]
    assert frozen > 20_000


def test_transfers_in_flight_shows_a_running_upload(local_server):
    with local_server.client() as api:
        space = make_space(api)
        [uri] = make_file_nodes(api, space, 1)
    release = threading.Event()

    def slow_body():
        yield b"x" * 65536
        release.wait(30)
        yield b"y" * 65536

    result: dict = {}

    def upload() -> None:
        with local_server.client() as api:
            result["response"] = api.post(
                "/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=slow_body()
            )

    worker = threading.Thread(target=upload)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        in_flight = 0.0
        while time.monotonic() < deadline and in_flight < 1:
            in_flight = scrape(local_server.url)[
                ("vitalgraph_transfers_in_flight", (("direction", "upload"),))
            ]
            time.sleep(0.05)
        assert in_flight >= 1
    finally:
        release.set()
        worker.join(30)
    assert result["response"].status_code == 200
    assert result["response"].json()["sha256"] == hashlib.sha256(b"x" * 65536 + b"y" * 65536).hexdigest()


def test_request_id_is_echoed_or_generated_and_logged_as_json(server_factory):
    server = server_factory(
        {"VITALGRAPH_LOG_FORMAT": "json", "VITALGRAPH_TRANSFER_LOG_EVERY_MIB": "1"}, log_level="info"
    )
    try:
        with server.client() as api:
            response = api.get("/health", headers={"X-Request-ID": "trace-abc.123"})
            assert response.headers["x-request-id"] == "trace-abc.123"
            generated = api.get("/health", headers={"X-Request-ID": "bad id\twith spaces"}).headers[
                "x-request-id"
            ]
            assert generated != "bad id\twith spaces" and len(generated) == 32
            space = make_space(api)
            [uri] = make_file_nodes(api, space, 1)
            response = api.post(
                "/api/files/stream/upload",
                params={"space_id": space, "uri": uri},
                content=os.urandom(2 * 1024 * 1024),
                headers={"X-Request-ID": "upload-42"},
            )
            assert response.status_code == 200 and response.headers["x-request-id"] == "upload-42"
        time.sleep(0.3)
        records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        assert records, server.log()
        assert all({"time", "level", "logger", "message", "request_id"} <= set(r) for r in records)
        transfer_lines = [r for r in records if r["logger"] == "vitalgraph.transfer"]
        assert transfer_lines and all(r["request_id"] == "upload-42" for r in transfer_lines)
    finally:
        server.stop()  # its log is read above; stop it now rather than at the session's end
