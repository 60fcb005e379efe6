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


class LocalStoreView:
    """What is on disk under DATA_DIR/blobs."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "blobs"

    def staging(self) -> list[str]:
        return sorted(p.name for p in (self.root / ".staging").glob("*"))

    def blob_keys(self, space_uid: str) -> set[str]:
        from vitalgraph.services.blob_keys import space_blob_prefix

        base = self.root / space_blob_prefix(space_uid)
        return {p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file()}

    def stored(self) -> dict[str, int]:
        """Every file-content blob in the store (all spaces): key -> bytes."""
        base = self.root / "spaces"
        return {p.relative_to(self.root).as_posix(): p.stat().st_size for p in base.rglob("*") if p.is_file()}


class S3StoreView:
    """What is in the bucket under the server's S3_PREFIX: objects, and unfinished multipart uploads."""

    def __init__(self, seaweed, prefix: str) -> None:
        self.client = seaweed.boto_client()
        self.bucket = seaweed.bucket
        self.prefix = f"{prefix}/"

    def staging(self) -> list[str]:
        found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
        return sorted(upload["Key"] for upload in found.get("Uploads", []))

    def blob_keys(self, space_uid: str) -> set[str]:
        from vitalgraph.services.blob_keys import space_blob_prefix

        keys: set[str] = set()
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + space_blob_prefix(space_uid)
        ):
            keys |= {item["Key"].removeprefix(self.prefix) for item in page.get("Contents", [])}
        return keys

    def stored(self) -> dict[str, int]:
        """Every file-content blob in the bucket (all spaces): key -> bytes."""
        found: dict[str, int] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "spaces/"
        ):
            found |= {
                item["Key"].removeprefix(self.prefix): item["Size"] for item in page.get("Contents", [])
            }
        return found


def assert_consistent(
    client: httpx.Client, space_id: str, store: LocalStoreView | S3StoreView | None
) -> dict[str, str]:
    """Every node that claims content serves exactly the bytes of its SHA-256; in the store, no
    unfinished upload is left and every blob of the space belongs to a node. Returns uri -> sha256."""
    facts = content_facts(client, space_id)
    shas: dict[str, str] = {}
    for uri, fact in facts.items():
        if fact is None:
            continue
        digest = hashlib.sha256()
        with client.stream(
            "GET", "/api/files/stream/download", params={"space_id": space_id, "uri": uri}
        ) as r:
            assert r.status_code == 200, r.read()
            for chunk in r.iter_bytes():
                digest.update(chunk)
        assert digest.hexdigest() == fact[0], f"{uri}: bytes do not match the recorded SHA-256"
        shas[uri] = fact[0]
    if store is not None:
        assert store.staging() == [], "unfinished uploads left behind"
        referenced = {fact[1] for fact in facts.values() if fact}
        space_uid = client.get(f"/api/spaces/{space_id}").json()["space_uid"]  # blobs are named by it
        assert store.blob_keys(space_uid) == referenced, "orphan or missing blobs"
    return shas


def staging_files(data_dir: Path) -> list[str]:
    return LocalStoreView(data_dir).staging()


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
