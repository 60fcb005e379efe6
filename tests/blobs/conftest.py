"""Blob store fixtures: every contract test runs against the local store and against three S3 servers
(SeaweedFS, the JuiceFS gateway, and Ceph radosgw when Debian's radosgw, ceph-mon and ceph-osd are
installed)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.seaweedfs import S3Server
from vitalgraph.blobs.base import BlobStore
from vitalgraph.blobs.local import LocalBlobStore
from vitalgraph.blobs.s3 import S3BlobStore
from vitalgraph.config import Settings

MiB = 1024 * 1024
S3_TEST_PART_SIZE = 5 * MiB  # S3's minimum part size: the smallest multipart uploads a test can make
LOCAL_TEST_CHUNK_SIZE = 256 * 1024


def make_s3_store(values: dict[str, Any], **overrides: Any) -> S3BlobStore:
    return S3BlobStore.from_settings(Settings(**{**values, **overrides}))


# The S3 server behind each S3 kind of store, by fixture name.
S3_SERVERS = {"s3": "seaweedfs", "ceph": "ceph_radosgw", "juicefs": "juicefs_gateway"}
S3_KINDS = [
    pytest.param("s3", marks=pytest.mark.s3),
    pytest.param("ceph", marks=pytest.mark.ceph),
    pytest.param("juicefs", marks=pytest.mark.juicefs),
]


@pytest.fixture(params=S3_KINDS)
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each S3 server of the tests, for tests of the S3 store alone."""
    return request.getfixturevalue(S3_SERVERS[request.param])


@pytest.fixture(params=["local", *S3_KINDS])
def blob_backend(request: pytest.FixtureRequest) -> tuple[str, S3Server | None]:
    """The kind of store, and its S3 server (None for the local store)."""
    if request.param == "local":
        return "local", None
    return request.param, request.getfixturevalue(S3_SERVERS[request.param])


@pytest.fixture
async def blob_store(
    blob_backend: tuple[str, S3Server | None], s3_prefix: str, tmp_path: Path
) -> AsyncIterator[BlobStore]:
    """An opened store of each kind: local in tmp_path/blobs, S3 under a fresh prefix of the shared bucket."""
    _, server = blob_backend
    if server is None:
        store: BlobStore = LocalBlobStore(tmp_path / "blobs", chunk_size=LOCAL_TEST_CHUNK_SIZE)
    else:
        store = make_s3_store(server.settings(prefix=s3_prefix), S3_PART_SIZE=S3_TEST_PART_SIZE)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def part_size(store: BlobStore) -> int:
    """The block size a store cuts a stream into: S3 parts, local write blocks."""
    return store.part_size if isinstance(store, S3BlobStore) else store.chunk_size  # type: ignore[attr-defined]


class StagingProbe:
    """Looks into a store's staging area: local .part files, or S3 unfinished multipart uploads."""

    def __init__(self, store: BlobStore, server: S3Server | None) -> None:
        self.store = store
        self.server = server

    def unfinished(self) -> list[str]:
        if isinstance(self.store, LocalBlobStore):
            return sorted(p.name for p in self.store.staging.iterdir())
        client = self.server.boto_client()  # type: ignore[union-attr]
        response = client.list_multipart_uploads(Bucket=self.store.bucket, Prefix=f"{self.store.prefix}/")
        return sorted(upload["UploadId"] for upload in response.get("Uploads", []))

    async def abandon_write(self, age_seconds: float = 0) -> None:
        """Leave behind what a crashed process would: a temp file, or an upload never completed.

        Local files are back-dated; an S3 upload's start time is the server's, so it ages for real.
        """
        if isinstance(self.store, LocalBlobStore):
            path = self.store.staging / f"{uuid.uuid4().hex}.part"
            path.write_bytes(os.urandom(1000))
            then = time.time() - age_seconds
            os.utime(path, (then, then))
            return
        client = self.server.boto_client()  # type: ignore[union-attr]
        key = f"{self.store.prefix}/abandoned/{uuid.uuid4().hex}"
        upload = client.create_multipart_upload(Bucket=self.store.bucket, Key=key)
        client.upload_part(
            Bucket=self.store.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1000
        )
        await asyncio.sleep(age_seconds)

    def all_objects(self) -> list[str]:
        """Every object in the bucket (S3) or every file under the store's parent directory (local)."""
        if isinstance(self.store, LocalBlobStore):
            parent = self.store.root.parent
            return sorted(str(p.relative_to(parent)) for p in parent.rglob("*") if p.is_file())
        client = self.server.boto_client()  # type: ignore[union-attr]
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.store.bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture
def staging(blob_store: BlobStore, blob_backend: tuple[str, S3Server | None]) -> StagingProbe:
    return StagingProbe(blob_store, blob_backend[1])
