"""What a healthy store looks like after faults: checked through the API and on the local blob directory."""

from __future__ import annotations

import hashlib
import socket
import uuid
from pathlib import Path

import httpx

FILE_NODE = "http://vital.ai/ontology/vital#FileNode"
HAS_NAME = "http://vital.ai/ontology/vital-core#hasName"


def make_space(client: httpx.Client) -> str:
    space_id = f"space-{uuid.uuid4().hex[:12]}"
    response = client.post("/api/spaces", json={"space_id": space_id, "space_name": "faults"})
    assert response.status_code == 201, response.text
    return space_id


def make_file_nodes(client: httpx.Client, space_id: str, count: int) -> list[str]:
    uris = [f"http://example.org/{space_id}/file/{n}" for n in range(count)]
    body = [{"@id": u, "@type": FILE_NODE, HAS_NAME: [{"@value": f"f{n}"}]} for n, u in enumerate(uris)]
    response = client.post("/api/files", params={"space_id": space_id}, json=body)
    assert response.status_code == 201, response.text
    return uris


def _value(node: dict, suffix: str) -> str | None:
    for key, value in node.items():
        if key.endswith(suffix):
            first = value[0] if isinstance(value, list) else value
            return first.get("@value") if isinstance(first, dict) else first
    return None


def file_nodes(client: httpx.Client, space_id: str) -> list[dict]:
    response = client.get("/api/files", params={"space_id": space_id, "page_size": 1000})
    assert response.status_code == 200, response.text
    files = response.json()["files"]
    if isinstance(files, dict):
        return files.get("@graph", [files] if "@id" in files else [])
    return files


def content_facts(client: httpx.Client, space_id: str) -> dict[str, tuple[str, str] | None]:
    """uri -> (sha256, blob key) for every node with content, None for empty nodes."""
    facts: dict[str, tuple[str, str] | None] = {}
    for node in file_nodes(client, space_id):
        sha, key = _value(node, "hasFileSHA256"), _value(node, "hasBlobKey")
        facts[node["@id"]] = (sha, key) if sha else None
    return facts


def assert_consistent(client: httpx.Client, space_id: str, data_dir: Path | None) -> dict[str, str]:
    """Every node that claims content serves exactly the bytes of its SHA-256; with a local store, no
    staging file is left and every blob on disk belongs to a node. Returns uri -> sha256."""
    facts = content_facts(client, space_id)
    shas: dict[str, str] = {}
    for uri, fact in facts.items():
        if fact is None:
            continue
        digest = hashlib.sha256()
        with client.stream("GET", "/api/files/stream/download", params={"space_id": space_id, "uri": uri}) as r:
            assert r.status_code == 200, r.read()
            for chunk in r.iter_bytes():
                digest.update(chunk)
        assert digest.hexdigest() == fact[0], f"{uri}: bytes do not match the recorded SHA-256"
        shas[uri] = fact[0]
    if data_dir is not None:
        assert staging_files(data_dir) == [], "staging files left behind"
        referenced = {fact[1] for fact in facts.values() if fact}
        assert stored_blob_keys(data_dir) <= referenced | other_spaces_keys(data_dir, space_id), "orphan blobs"
    return shas


def staging_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "blobs" / ".staging").glob("*"))


def stored_blob_keys(data_dir: Path) -> set[str]:
    root = data_dir / "blobs"
    return {p.relative_to(root).as_posix() for p in (root / "spaces").rglob("*") if p.is_file()}


def other_spaces_keys(data_dir: Path, space_id: str) -> set[str]:
    """Blobs of other spaces (other tests' data on a shared server) are not this check's business."""
    from vitalgraph.services.blob_keys import space_blob_prefix

    mine = space_blob_prefix(space_id)
    return {key for key in stored_blob_keys(data_dir) if not key.startswith(mine)}


def raw_request_head(method: str, path: str, host: str, token: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {token}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    return sock


def read_response_head(sock: socket.socket) -> tuple[int, bytes]:
    """Status code and whatever body bytes arrived with the headers."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            raise ConnectionError(f"connection closed before the response headers: {data[:200]!r}")
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest
