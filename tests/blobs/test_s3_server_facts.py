"""What each S3 server of the tests does with conditional writes, checksums, multi-object deletes and
keys that are also folders, pinned down.

Claims kept in a bucket (If-None-Match: *, If-Match) and end-to-end checksums are only as good as the
server's support for them; docs/deployment.md records these answers. A server upgrade that changes
one fails here, so the docs and any code relying on it get looked at again.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.ceph import CephRadosgw
from tests.fixtures.juicefs import JuiceFSGateway
from tests.fixtures.seaweedfs import S3Server

MiB = 1024 * 1024


@pytest.fixture(
    params=[
        pytest.param("seaweedfs", marks=pytest.mark.s3),
        pytest.param("ceph_radosgw", marks=pytest.mark.ceph),
        pytest.param("juicefs_gateway", marks=pytest.mark.juicefs),
    ]
)
def server(request: pytest.FixtureRequest) -> S3Server:
    return request.getfixturevalue(request.param)


def status(call: Any, **params: Any) -> int:
    try:
        return call(**params)["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"]


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_if_none_match_star_creates_once(server: S3Server) -> None:
    client, key = server.boto_client(), f"facts/{uuid.uuid4().hex}"
    put = client.put_object
    assert status(put, Bucket=server.bucket, Key=key, Body=b"first", IfNoneMatch="*") == 200
    second = status(put, Bucket=server.bucket, Key=key, Body=b"second", IfNoneMatch="*")
    stored = client.get_object(Bucket=server.bucket, Key=key)["Body"].read()
    if isinstance(server, JuiceFSGateway):
        # JuiceFS 1.4's gateway ignores conditions on PUT: the second write replaces the first
        assert (second, stored) == (200, b"second")
    else:
        assert (second, stored) == (412, b"first")


def test_if_match_replaces_only_the_version_read(server: S3Server) -> None:
    client, key = server.boto_client(), f"facts/{uuid.uuid4().hex}"
    put = client.put_object
    client.put_object(Bucket=server.bucket, Key=key, Body=b"v1")
    if isinstance(server, JuiceFSGateway):  # ignored, as If-None-Match is: every PUT goes through
        assert status(put, Bucket=server.bucket, Key=key, Body=b"x", IfMatch='"0123456789abcdef"') == 200
        assert status(put, Bucket=server.bucket, Key=f"{key}-missing", Body=b"x", IfMatch='"0123"') == 200
        assert client.get_object(Bucket=server.bucket, Key=key)["Body"].read() == b"x"
        return
    etag = client.head_object(Bucket=server.bucket, Key=key)["ETag"]  # quoted, as S3 sends it
    assert status(put, Bucket=server.bucket, Key=key, Body=b"x", IfMatch='"0123456789abcdef"') == 412
    assert status(put, Bucket=server.bucket, Key=f"{key}-missing", Body=b"x", IfMatch=etag) == 412
    quoted = status(put, Bucket=server.bucket, Key=key, Body=b"v2", IfMatch=etag)
    if isinstance(server, CephRadosgw):
        # Ceph 16.2 compares If-Match with the ETag unquoted: the quoted one S3 hands out never matches
        assert quoted == 412
        assert status(put, Bucket=server.bucket, Key=key, Body=b"v2", IfMatch=etag.strip('"')) == 200
    else:
        assert quoted == 200
    assert client.get_object(Bucket=server.bucket, Key=key)["Body"].read() == b"v2"


def test_part_checksums(server: S3Server) -> None:
    """x-amz-checksum-sha256 on a part, and Content-MD5: does the server check what it received?"""
    client, key = server.boto_client(), f"facts/{uuid.uuid4().hex}"
    body = b"a" * (5 * MiB)
    upload = client.create_multipart_upload(Bucket=server.bucket, Key=key, ChecksumAlgorithm="SHA256")
    part = {
        "Bucket": server.bucket,
        "Key": key,
        "UploadId": upload["UploadId"],
        "PartNumber": 1,
        "Body": body,
    }
    try:
        right_sha = status(client.upload_part, **part, ChecksumSHA256=b64(hashlib.sha256(body).digest()))
        wrong_sha = status(client.upload_part, **part, ChecksumSHA256=b64(hashlib.sha256(b"other").digest()))
        wrong_md5 = status(client.upload_part, **part, ContentMD5=b64(hashlib.md5(b"other").digest()))
    finally:
        client.abort_multipart_upload(Bucket=server.bucket, Key=key, UploadId=upload["UploadId"])
    assert right_sha == 200
    assert wrong_md5 == 400  # both check Content-MD5
    # SeaweedFS checks x-amz-checksum-*; Ceph 16.2 and JuiceFS 1.4 ignore it
    assert wrong_sha == (200 if isinstance(server, (CephRadosgw, JuiceFSGateway)) else 400)


def test_get_if_match_reads_only_the_version_seen(server: S3Server) -> None:
    """What a pinned download (S3BlobStore.open_pinned) relies on: a GET of another version is refused."""
    client, key = server.boto_client(), f"facts/{uuid.uuid4().hex}"
    client.put_object(Bucket=server.bucket, Key=key, Body=b"v1")
    etag = client.head_object(Bucket=server.bucket, Key=key)["ETag"]
    client.put_object(Bucket=server.bucket, Key=key, Body=b"v2")
    assert status(client.get_object, Bucket=server.bucket, Key=key, IfMatch=etag) == 412
    fresh = client.head_object(Bucket=server.bucket, Key=key)["ETag"]
    assert client.get_object(Bucket=server.bucket, Key=key, IfMatch=fresh)["Body"].read() == b"v2"


def test_delete_objects_as_botocore_sends_it(server: S3Server) -> None:
    """botocore >= 1.36 sends DeleteObjects with a CRC32 and no Content-MD5; JuiceFS 1.4 wants the MD5
    (S3BlobStore then deletes one key per request, see tests/blobs/test_s3_specific.py)."""
    client, key = server.boto_client(), f"facts/{uuid.uuid4().hex}"
    client.put_object(Bucket=server.bucket, Key=key, Body=b"x")
    try:
        client.delete_objects(Bucket=server.bucket, Delete={"Objects": [{"Key": key}], "Quiet": True})
        answer = "deleted"
    except ClientError as exc:
        answer = exc.response["Error"]["Code"]
    still_there = status(client.head_object, Bucket=server.bucket, Key=key) == 200
    client.delete_object(Bucket=server.bucket, Key=key)
    if isinstance(server, JuiceFSGateway):
        assert (answer, still_there) == ("MissingContentMD5", True)
    else:
        assert (answer, still_there) == ("deleted", False)


def test_a_key_that_is_also_a_folder_of_other_keys(server: S3Server) -> None:
    """JuiceFS keeps objects as files: `a` and `a/b` cannot both exist. VitalGraph's keys never need it."""
    client, base = server.boto_client(), f"facts/{uuid.uuid4().hex}"
    put = client.put_object
    client.put_object(Bucket=server.bucket, Key=f"{base}/object", Body=b"1")
    client.put_object(Bucket=server.bucket, Key=f"{base}/folder/inside", Body=b"2")
    under_an_object = status(put, Bucket=server.bucket, Key=f"{base}/object/inside", Body=b"3")
    over_a_folder = status(put, Bucket=server.bucket, Key=f"{base}/folder", Body=b"4")
    expected = 500 if isinstance(server, JuiceFSGateway) else 200
    assert (under_an_object, over_a_folder) == (expected, expected)
