"""Garbage collection on the real services (embedded stores in a temp dir)."""

import asyncio
import os
import subprocess
import sys
import time

import pytest

from vitalgraph.config import load_settings
from vitalgraph.model import FileNode
from vitalgraph.services.blob_keys import ALL_SPACES_PREFIX
from vitalgraph.services.container import Services
from vitalgraph.services.migrations import CURRENT_FORMAT

pytestmark = pytest.mark.anyio


async def _bytes(*pieces: bytes):
    for piece in pieces:
        yield piece


@pytest.fixture
async def services(tmp_path):
    started = await Services.start(load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw"))
    yield started
    await started.stop()


async def test_orphans_and_unfinished_uploads_are_collected(services, tmp_path):
    await services.spaces.create("gc")
    await services.files.create_files("gc", None, [FileNode(URI="http://x/kept")])
    await services.files.upload_content(
        await services.files.upload_target("gc", None, "http://x/kept"),
        _bytes(b"kept"),
        content_type=None,
        filename=None,
    )
    kept_key = (await services.files.get_file("gc", None, "http://x/kept")).blobKey

    orphan = await services.blobs.write("spaces/aaaa/orphan", _bytes(b"orphan"))
    young = await services.blobs.write("spaces/aaaa/young", _bytes(b"young"))
    old = time.time() - 7200
    os.utime(services.blobs.root / orphan.key, (old, old))
    stale_temp = services.blobs.staging / "abandoned.part"
    stale_temp.write_bytes(b"half an upload")
    os.utime(stale_temp, (old, old))

    report = await services.maintenance.collect_garbage(
        stale_upload_seconds=3600, orphan_min_age_seconds=3600
    )

    assert (report.unfinished_uploads_removed, report.orphan_blobs_removed, report.young_orphans_kept) == (
        1,
        1,
        1,
    )
    keys = {stat.key async for stat in services.blobs.list_keys(ALL_SPACES_PREFIX)}
    assert keys == {kept_key, young.key}
    assert not stale_temp.exists()


def test_gc_command_reports_what_it_removed(tmp_path):
    env = {"PATH": os.environ["PATH"], "VITALGRAPH_ADMIN_PASSWORD": "pw"}
    staging = tmp_path / "blobs" / ".staging"
    staging.mkdir(parents=True)
    (staging / "left.part").write_bytes(b"x")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vitalgraph.cli",
            "gc",
            "--data-dir",
            str(tmp_path),
            "--stale-upload-seconds",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "removed 1 unfinished uploads and 0 orphan blobs" in result.stdout
    assert not (staging / "left.part").exists()


# --- the same on S3 (SeaweedFS): unfinished multipart uploads and orphan objects ------------------
def _start_multipart(seaweedfs, prefix: str) -> str:
    """What a crashed server leaves: a multipart upload with a part, never completed."""
    client = seaweedfs.boto_client()
    key = f"{prefix}/spaces/abandoned/{os.urandom(8).hex()}"
    upload_id = client.create_multipart_upload(Bucket=seaweedfs.bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=seaweedfs.bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 1000)
    return upload_id


def _pending_uploads(seaweedfs, prefix: str) -> set[str]:
    response = seaweedfs.boto_client().list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=f"{prefix}/")
    return {upload["UploadId"] for upload in response.get("Uploads", [])}


@pytest.fixture
async def s3_services(tmp_path, s3_settings):
    started = await Services.start(load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", **s3_settings))
    yield started
    await started.stop()


@pytest.mark.s3
async def test_s3_stale_uploads_and_old_orphans_are_collected(s3_services, seaweedfs, s3_prefix):
    services = s3_services
    await services.spaces.create("gc")
    await services.files.create_files("gc", None, [FileNode(URI="http://x/kept")])
    await services.files.upload_content(
        await services.files.upload_target("gc", None, "http://x/kept"),
        _bytes(b"kept"),
        content_type=None,
        filename=None,
    )
    kept_key = (await services.files.get_file("gc", None, "http://x/kept")).blobKey
    stale_upload = _start_multipart(seaweedfs, s3_prefix)
    await services.blobs.write("spaces/aaaa/orphan", _bytes(b"orphan"))
    await asyncio.sleep(2.5)  # S3 dates objects and uploads itself: they age for real
    fresh_upload = _start_multipart(seaweedfs, s3_prefix)
    young = await services.blobs.write("spaces/aaaa/young", _bytes(b"young"))

    report = await services.maintenance.collect_garbage(stale_upload_seconds=2, orphan_min_age_seconds=2)

    assert (report.unfinished_uploads_removed, report.orphan_blobs_removed, report.young_orphans_kept) == (
        1,
        1,
        1,
    )
    keys = {stat.key async for stat in services.blobs.list_keys(ALL_SPACES_PREFIX)}
    assert keys == {kept_key, young.key}
    assert _pending_uploads(seaweedfs, s3_prefix) == {fresh_upload}
    assert stale_upload not in _pending_uploads(seaweedfs, s3_prefix)


@pytest.mark.s3
def test_gc_command_on_s3(tmp_path, seaweedfs, s3_prefix):
    env = {"PATH": os.environ["PATH"], "VITALGRAPH_ADMIN_PASSWORD": "pw", **seaweedfs.server_env(s3_prefix)}
    _start_multipart(seaweedfs, s3_prefix)
    seaweedfs.boto_client().put_object(
        Bucket=seaweedfs.bucket, Key=f"{s3_prefix}/spaces/aaaa/orphan", Body=b"o"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vitalgraph.cli",
            "gc",
            "--data-dir",
            str(tmp_path),
            "--stale-upload-seconds",
            "0",
            "--orphan-min-age-seconds",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "removed 1 unfinished uploads and 1 orphan blobs" in result.stdout
    assert _pending_uploads(seaweedfs, s3_prefix) == set()
    listing = seaweedfs.boto_client().list_objects_v2(Bucket=seaweedfs.bucket, Prefix=f"{s3_prefix}/")
    left = [item["Key"] for item in listing.get("Contents", [])]
    assert left == [f"{s3_prefix}/vitalgraph-store/format-{CURRENT_FORMAT}"]  # only the store's format
