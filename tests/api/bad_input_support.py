"""Helpers for the bad-input tests: a before/after snapshot of everything a request could change,
and raw HTTP over a socket for requests httpx will not send (lying Content-Length, broken chunking)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx

from tests.api.conftest import FileSlot, blob_probe, wait_until
from tests.fixtures.seaweedfs import resumable_objects
from tests.fixtures.servers import RunningServer


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    """The status, and a JSON {"detail"} that names the problem (every fragment, case-insensitive)."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail, response.text
    for fragment in fragments:
        assert fragment.lower() in detail.lower(), (fragment, detail)


def staged_paths(server: RunningServer) -> list[str]:
    """Resumable-upload records and staging on the server's disk or, on S3, in the bucket (the blob
    store's own staging is in BlobProbe.unfinished())."""
    root = server.data_dir / "tus"
    on_disk = [str(p.relative_to(server.data_dir)) for p in root.rglob("*")] if root.exists() else []
    return sorted(on_disk + resumable_objects(server))


@dataclass
class Snapshot:
    """What the server holds for one file slot: blobs, unfinished writes, staging, the node, its bytes."""

    objects: list[str]
    unfinished: list[str]
    staged: list[str]
    node: dict
    content: bytes | None

    @classmethod
    def take(cls, server: RunningServer, slot: FileSlot) -> Snapshot:
        probe = blob_probe(server)
        node = slot.client.get("/api/files", params=slot.params)
        assert node.status_code == 200, node.text
        download = slot.download()
        return cls(
            probe.objects(),
            probe.unfinished(),
            staged_paths(server),
            node.json(),
            download.content if download.status_code == 200 else None,
        )

    def assert_unchanged(self, server: RunningServer, slot: FileSlot) -> None:
        """Nothing stored, nothing lost: unfinished writes are waited out (an abort may lag the response)."""
        probe = blob_probe(server)
        wait_until(lambda: probe.unfinished() == self.unfinished, timeout=10)
        assert Snapshot.take(server, slot) == self


@dataclass
class RawResponse:
    status: int | None  # None: the server closed the connection without answering
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def raw_request(
    server: RunningServer,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    body: bytes = b"",
    *,
    half_close: bool = False,
    timeout: float = 10,
) -> RawResponse:
    """Send exactly these bytes (headers as given, no Content-Length added) and read the answer to EOF."""
    url = urlsplit(server.url)
    target = f"{path}?{urlencode(params)}" if params else path
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {url.netloc}",
        f"Authorization: Bearer {server.token()}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)  # the client is done sending: the server sees the body end early
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return parse_raw_response(bytes(received))


def parse_raw_response(data: bytes) -> RawResponse:
    if not data:
        return RawResponse(None, [], b"")
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [
        (name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in header_lines)
    ]
    return RawResponse(int(status_line.split()[1]), headers, body)


def multipart_body(
    content: bytes,
    *,
    boundary: str = "XyZ",
    filename: str = "a.bin",
    closed: bool = True,
    disposition: str | None = None,
) -> bytes:
    disposition = disposition or f'form-data; name="file"; filename="{filename}"'
    body = (
        (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + b"\r\n"
    )
    return body + (f"--{boundary}--\r\n".encode() if closed else b"")
