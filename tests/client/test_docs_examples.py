"""The examples in docs/client.md run as written: the mock ones as they are, the others against a real
test server (only its address and the password are filled in)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def documented_code(marker: str) -> str:
    found = re.search(rf"<!-- test: {marker} -->\s*```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert found, f"no python block marked {marker} in {DOCS}"
    return found.group(1)


def test_kg_example_runs_as_written(capsys):
    exec(compile(documented_code("kg-example"), str(DOCS), "exec"), {"__name__": "docs_example"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "1"
    assert printed[1] == "Acme [('http://example.org/org/acme/annual-report', 11534336)]"
    assert printed[-2] == "['http://example.org/org/acme/annual-report']"
    assert printed[-1] == "file node not found: http://example.org/org/acme/annual-report"


# --- the connection examples, against a real server (only its address and the password are filled in) ---
def _against(server, marker: str) -> str:
    return documented_code(marker).replace("http://127.0.0.1:8001", server.url)


def test_sync_example_runs_as_written(local_server, tmp_path, monkeypatch, capsys):
    from tests.fixtures.servers import ADMIN_PASSWORD

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VITALGRAPH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    exec(compile(_against(local_server, "sync-example"), str(DOCS), "exec"), {"__name__": "docs_example"})
    assert (tmp_path / "q3-copy.pdf").read_bytes() == (tmp_path / "q3.pdf").read_bytes()
    printed = capsys.readouterr().out
    assert "104000 " in printed and "application/pdf" in printed
    assert "404 file node not found: http://example.org/missing" in printed


def test_async_example_runs_as_written(local_server, tmp_path, monkeypatch, capsys):
    from tests.fixtures.servers import ADMIN_PASSWORD

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VITALGRAPH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    exec(compile(_against(local_server, "async-example"), str(DOCS), "exec"), {"__name__": "docs_example"})
    expected = b"".join(f"{n},row {n}\n".encode() for n in range(100_000))
    assert (tmp_path / "rows.csv").read_bytes() == expected
    assert capsys.readouterr().out.split() == [str(len(expected))]


def test_fastapi_example_passes_bytes_both_ways(local_server, monkeypatch):
    from starlette.testclient import TestClient

    from tests.fixtures.servers import ADMIN_PASSWORD

    for name, value in {
        "SERVER_URL": local_server.url,
        "USERNAME": "admin",
        "PASSWORD": ADMIN_PASSWORD,
    }.items():
        monkeypatch.setenv(f"VITALGRAPH_CLIENT_{name}", value)
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(documented_code("fastapi-example"), str(DOCS), "exec"), namespace)
    uri = "http://example.org/documents/contract"
    with local_server.client() as admin:
        assert admin.post("/api/spaces", json={"space_id": "demo"}).status_code == 201
        try:
            node = {"@id": uri, "@type": "http://vital.ai/ontology/vital#FileNode"}
            assert admin.post("/api/files", params={"space_id": "demo"}, json=node).status_code == 201
            body = os.urandom(3 * 1024 * 1024 + 17)
            with TestClient(namespace["app"]) as caller:
                stored = caller.put(
                    "/documents",
                    params={"uri": uri},
                    content=body,
                    headers={"Content-Type": "application/pdf"},
                )
                assert stored.status_code == 200, stored.text
                assert stored.json()["sha256"] == hashlib.sha256(body).hexdigest()
                fetched = caller.get("/documents", params={"uri": uri})
                assert fetched.status_code == 200
                assert fetched.content == body and fetched.headers["content-type"] == "application/pdf"
        finally:
            admin.delete("/api/spaces/demo")


def test_mock_example_is_a_passing_test_module(tmp_path):
    module = tmp_path / "test_documented_mock.py"
    module.write_text(documented_code("mock-example"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_migration_generators_upload_the_same_bytes():
    from vitalgraph.mock import AsyncMockVitalGraphClient, MockVitalGraphClient
    from vitalgraph.model import FileNode

    namespace: dict = {"__name__": "docs_example"}
    exec(
        compile(documented_code("sync-generator") + documented_code("async-generator"), str(DOCS), "exec"),
        namespace,
    )
    rows = ["id,name\n", "1,Acme\n", "2,Globex\n"]
    uri = "http://example.org/rows"

    async def cursor():
        for row in rows:
            yield row

    with MockVitalGraphClient() as client:
        client.spaces.create_space("rows")
        client.files.create_file("rows", [FileNode(uri)])
        uploaded = client.files.upload_file_stream("rows", None, uri, namespace["Rows"](rows))
        assert uploaded.content_type == "text/csv"
        assert client.files.download_file_content("rows", None, uri) == "".join(rows).encode()

    async def upload_async() -> tuple[str, bytes]:
        async with AsyncMockVitalGraphClient() as client:
            await client.spaces.create_space("rows")
            await client.files.create_file("rows", [FileNode(uri)])
            uploaded = await client.files.upload_file_stream(
                "rows", None, uri, namespace["AsyncRows"](cursor())
            )
            return uploaded.content_type, await client.files.download_file_content("rows", None, uri)

    assert asyncio.run(upload_async()) == ("text/csv", "".join(rows).encode())
