"""The tus 1.0.0 protocol over HTTP against a real server, on both blob stores."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.tus.conftest import (
    CHUNK,
    MAX_FILE_SIZE,
    TUS,
    Target,
    metadata_header,
    multipart_uploads,
    staged_files,
)

MiB = 1024 * 1024
DATA = os.urandom(6 * MiB + 321)  # more than one 5 MiB S3 part
SHA256 = hashlib.sha256(DATA).hexdigest()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def offset_of(target: Target, url: str) -> int:
    response = target.head(url)
    assert response.status_code == 200, response.text
    return int(response.headers["upload-offset"])


def assert_content(target: Target, data: bytes) -> None:
    download = target.download()
    assert download.status_code == 200, download.text
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert download.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'


def test_upload_in_chunks_completes_the_file_node(target: Target):
    url = target.new_upload(len(DATA))
    offset = 0
    for start in range(0, len(DATA), 2 * MiB):
        chunk = DATA[start : start + 2 * MiB]
        response = target.patch(url, offset, chunk)
        assert response.status_code == 204, response.text
        assert response.headers["tus-resumable"] == "1.0.0"
        offset = int(response.headers["upload-offset"])
        assert offset == start + len(chunk)
    assert_content(target, DATA)
    node = target.node()
    assert any(SHA256 in str(value) for value in node.values())  # the node records the server's SHA-256
    assert "data.bin" in target.download().headers["content-disposition"]
    assert target.head(url).status_code == 404  # a finished upload is gone
    assert staged_files(target.server, url) == []


def test_options_advertises_the_protocol(target: Target):
    response = target.client.options("/api/files/tus/")
    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-resumable"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
    }
    assert response.headers["tus-max-size"] == str(MAX_FILE_SIZE)
    assert set(response.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256"}


def test_head_reports_offset_length_metadata_and_expiry(target: Target):
    response = target.create(
        len(DATA), headers={"Upload-Metadata": target.metadata(filename="ä.bin", extra="1")}
    )
    url = response.headers["location"]
    assert response.headers["upload-offset"] == "0"
    assert "GMT" in response.headers["upload-expires"]
    target.patch(url, 0, DATA[:MiB])
    head = target.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["upload-offset"] == str(MiB)
    assert head.headers["upload-length"] == str(len(DATA))
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["tus-resumable"] == "1.0.0"
    assert "GMT" in head.headers["upload-expires"]
    assert head.headers["upload-metadata"] == target.metadata(filename="ä.bin", extra="1")


@pytest.mark.parametrize("version", [None, "0.2.2"])
def test_unsupported_protocol_version_is_412(target: Target, version):
    headers = {"Upload-Length": "10", "Upload-Metadata": target.metadata()}
    if version:
        headers["Tus-Resumable"] = version
    before = staged_files(target.server)
    response = target.client.post("/api/files/tus/", headers=headers)
    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"
    assert "1.0.0" in response.json()["detail"]
    assert staged_files(target.server) == before


def test_every_route_needs_the_bearer_token(target: Target):
    url = target.new_upload(10)
    anonymous = httpx.Client(base_url=target.server.url)
    assert (
        anonymous.post(
            "/api/files/tus/", headers={**TUS, "Upload-Length": "1", "Upload-Metadata": target.metadata()}
        ).status_code
        == 401
    )
    assert anonymous.head(url, headers=TUS).status_code == 401
    assert (
        anonymous.patch(url, content=b"x", headers={**TUS, **CHUNK, "Upload-Offset": "0"}).status_code == 401
    )
    assert anonymous.delete(url, headers=TUS).status_code == 401
    assert anonymous.options("/api/files/tus/").status_code == 401
    assert offset_of(target, url) == 0


def test_wrong_content_type_is_415_and_keeps_nothing(target: Target):
    url = target.new_upload(len(DATA))
    response = target.client.patch(
        url,
        content=DATA[:1000],
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 415
    assert "application/offset+octet-stream" in response.json()["detail"]
    assert offset_of(target, url) == 0


def test_offset_mismatch_is_409_and_keeps_nothing(target: Target):
    url = target.new_upload(len(DATA))
    assert target.patch(url, 0, DATA[:1000]).status_code == 204
    response = target.patch(url, 0, DATA[:1000])
    assert response.status_code == 409
    assert "1000" in response.json()["detail"]
    assert target.patch(url, 5000, DATA[5000:6000]).status_code == 409
    assert offset_of(target, url) == 1000


def test_second_patch_while_one_runs_is_409(target: Target):
    url = target.new_upload(len(DATA))
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield DATA[: 5 * MiB + 1]  # a whole S3 part: stored (and counted) while the PATCH goes on
        release.wait(30)
        yield DATA[5 * MiB + 1 : 6 * MiB]

    results: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: results.append(
            target.server.client().patch(
                url, content=slow_body(), headers={**TUS, **CHUNK, "Upload-Offset": "0"}
            )
        )
    )
    first.start()
    try:
        deadline = time.monotonic() + 20
        while offset_of(target, url) == 0:  # the first PATCH is under way once bytes are staged
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = target.patch(url, 0, DATA[:100])
        assert second.status_code == 409
        assert "in progress" in second.json()["detail"]
        terminate = target.client.delete(url, headers=TUS)
        assert terminate.status_code == 409
    finally:
        release.set()
        first.join(30)
    assert results[0].status_code == 204, results[0].text
    assert results[0].headers["upload-offset"] == str(6 * MiB)
    assert target.patch(url, 6 * MiB, DATA[6 * MiB :]).status_code == 204
    assert_content(target, DATA)


def test_checksum_mismatch_is_460_and_the_chunk_is_discarded(target: Target):
    url = target.new_upload(len(DATA))
    chunk = DATA[: 5 * MiB + 10]  # spans an S3 part boundary
    wrong = target.patch(
        url, 0, chunk, **{"Upload-Checksum": f"sha256 {b64(hashlib.sha256(b'other').digest())}"}
    )
    assert wrong.status_code == 460
    assert "sha256" in wrong.json()["detail"]
    assert offset_of(target, url) == 0
    good_sha1 = target.patch(
        url, 0, chunk, **{"Upload-Checksum": f"sha1 {b64(hashlib.sha1(chunk).digest())}"}
    )
    assert good_sha1.status_code == 204, good_sha1.text
    rest = DATA[len(chunk) :]
    wrong_sha1 = target.patch(
        url, len(chunk), rest, **{"Upload-Checksum": f"sha1 {b64(hashlib.sha1(b'x').digest())}"}
    )
    assert wrong_sha1.status_code == 460
    assert offset_of(target, url) == len(chunk)
    good = target.patch(
        url, len(chunk), rest, **{"Upload-Checksum": f"sha256 {b64(hashlib.sha256(rest).digest())}"}
    )
    assert good.status_code == 204, good.text
    assert_content(target, DATA)


def test_unknown_checksum_algorithm_is_400(target: Target):
    url = target.new_upload(10)
    response = target.patch(
        url, 0, b"0123456789", **{"Upload-Checksum": f"md5 {b64(hashlib.md5(b'0123456789').digest())}"}
    )
    assert response.status_code == 400
    assert "md5" in response.json()["detail"]
    assert offset_of(target, url) == 0


def test_interrupted_patch_keeps_what_arrived_and_resumes(target: Target):
    url = target.new_upload(len(DATA))
    watcher = target.server.client()
    seen: list[int] = []

    def broken_body() -> Iterator[bytes]:
        yield DATA[: 5 * MiB + 1]  # more than an S3 part: some of it is stored while the PATCH goes on
        deadline = time.monotonic() + 20
        while not seen or seen[-1] < 2 * MiB:  # until the server has written some of it
            assert time.monotonic() < deadline
            time.sleep(0.02)
            seen.append(int(watcher.head(url, headers=TUS).headers["upload-offset"]))
        raise OSError("link dropped")

    with pytest.raises(OSError, match="link dropped"):
        target.client.patch(url, content=broken_body(), headers={**TUS, **CHUNK, "Upload-Offset": "0"})
    deadline = time.monotonic() + 20
    while True:  # the server notices the dropped connection a moment later; until then the upload is busy
        offset = offset_of(target, url)
        assert seen[-1] <= offset <= 5 * MiB + 1  # what was written stays
        response = target.patch(url, offset, DATA[offset:])
        if response.status_code != 409 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert response.status_code == 204, response.text
    assert_content(target, DATA)


def test_termination_removes_the_upload_and_its_bytes(target: Target, request):
    before = multipart_uploads(target.server, request)
    url = target.new_upload(len(DATA))
    assert target.patch(url, 0, DATA[: 5 * MiB + 1]).status_code == 204
    assert staged_files(target.server, url) != []
    if target.server.store == "s3":  # a whole part went out: the multipart upload exists
        assert len(multipart_uploads(target.server, request)) == len(before) + 1
    response = target.client.delete(url, headers=TUS)
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert target.head(url).status_code == 404
    assert target.patch(url, 5 * MiB + 1, b"x").status_code == 404
    assert target.client.delete(url, headers=TUS).status_code == 404
    assert staged_files(target.server, url) == []
    assert multipart_uploads(target.server, request) == before
    assert target.download().status_code == 404  # the node never got content


def test_creation_with_upload(target: Target):
    small = DATA[:100_000]
    response = target.create(len(DATA), content=small, headers=CHUNK)
    assert response.status_code == 201, response.text
    assert response.headers["upload-offset"] == str(len(small))
    url = response.headers["location"]
    assert target.patch(url, len(small), DATA[len(small) :]).status_code == 204
    assert_content(target, DATA)


def test_creation_with_the_whole_upload_completes_at_once(target: Target):
    response = target.create(1000, content=DATA[:1000], headers=CHUNK)
    assert response.status_code == 201, response.text
    assert "upload-expires" not in response.headers
    assert_content(target, DATA[:1000])


def test_empty_upload_completes_at_creation(target: Target):
    assert target.create(0).status_code == 201
    assert_content(target, b"")


def test_deferred_length(target: Target):
    response = target.create(None)
    url = response.headers["location"]
    head = target.head(url)
    assert head.headers["upload-defer-length"] == "1"
    assert "upload-length" not in head.headers
    assert target.patch(url, 0, DATA[: 3 * MiB]).status_code == 204
    assert target.download().status_code == 404  # not complete: length still unknown
    last = target.patch(url, 3 * MiB, DATA[3 * MiB :], **{"Upload-Length": str(len(DATA))})
    assert last.status_code == 204, last.text
    assert_content(target, DATA)


def test_length_over_the_limit_is_413(target: Target):
    before = staged_files(target.server)
    assert target.create(MAX_FILE_SIZE + 1).status_code == 413
    assert staged_files(target.server) == before


def test_bytes_past_the_length_are_413(target: Target):
    url = target.new_upload(1000)
    response = target.patch(url, 0, DATA[:1001])
    assert response.status_code == 413
    assert target.download().status_code == 404


@pytest.mark.parametrize("what", ["space", "node", "metadata"])
def test_creation_for_a_missing_target_is_refused(target: Target, what):
    metadata = {
        "space": metadata_header(space_id="no-such-space", file_uri=target.uri),
        "node": metadata_header(space_id=target.space_id, file_uri="http://example.org/no-such-node"),
        "metadata": metadata_header(filename="x.bin"),
    }[what]
    before = staged_files(target.server)
    response = target.client.post(
        "/api/files/tus/", headers={**TUS, "Upload-Length": "10", "Upload-Metadata": metadata}
    )
    assert response.status_code == (400 if what == "metadata" else 404), response.text
    assert response.headers["tus-resumable"] == "1.0.0"
    assert staged_files(target.server) == before


def test_previous_content_stays_readable_until_the_upload_completes(target: Target):
    old = b"the previous version" * 1000
    put = target.client.post(
        "/api/files/stream/upload", params={"space_id": target.space_id, "uri": target.uri}, content=old
    )
    assert put.status_code == 200, put.text
    url = target.new_upload(len(DATA))
    assert target.patch(url, 0, DATA[: 5 * MiB + 7]).status_code == 204
    assert_content(target, old)
    assert target.patch(url, 5 * MiB + 7, DATA[5 * MiB + 7 :]).status_code == 204
    assert_content(target, DATA)
