"""TusService on the real services in-process: completion that fails half-way is retried by HEAD."""

from __future__ import annotations

import hashlib
import os

import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import NotFoundError, StorageUnavailableError
from vitalgraph.model import FileNode
from vitalgraph.services.container import Services

pytestmark = pytest.mark.anyio
DATA = os.urandom(300_000)
URI = "http://example.org/tus/file"


async def body(data: bytes):
    yield data


@pytest.fixture
async def services(tmp_path):
    started = await Services.start(
        load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", GC_INTERVAL_SECONDS=0)
    )
    await started.spaces.create("tus")
    await started.files.create_files("tus", None, [FileNode(URI=URI)])
    yield started
    await started.stop()


def fail_once(monkeypatch, owner, name: str) -> None:
    real = getattr(owner, name)

    async def failing(*args, **kwargs):
        monkeypatch.setattr(owner, name, real)
        raise StorageUnavailableError("down for a moment")

    monkeypatch.setattr(owner, name, failing)


async def content_sha256(services: Services) -> str:
    content = await services.files.open_content("tus", None, URI)
    return hashlib.sha256(b"".join([c async for c in content.read_range(0, content.size - 1)])).hexdigest()


@pytest.mark.parametrize("failing_step", ["finish", "attach"])
async def test_a_failed_completion_is_retried_by_head(services, monkeypatch, failing_step):
    upload = await services.tus.create("admin", {"space_id": "tus", "file_uri": URI}, len(DATA))
    owner, name = (
        (services.blobs, "finish_upload") if failing_step == "finish" else (services.files, "attach_content")
    )
    fail_once(monkeypatch, owner, name)
    with pytest.raises(StorageUnavailableError):
        await services.tus.append(upload.id, "admin", 0, body(DATA))
    with pytest.raises(NotFoundError):
        await services.files.open_content("tus", None, URI)  # not attached yet

    progress = await services.tus.status(upload.id, "admin")  # HEAD: every byte is there; complete now
    assert progress.offset == len(DATA)
    assert progress.result is not None and progress.result.sha256 == hashlib.sha256(DATA).hexdigest()
    assert await content_sha256(services) == hashlib.sha256(DATA).hexdigest()
    with pytest.raises(NotFoundError):
        await services.tus.status(upload.id, "admin")
    assert await services.blobs.staged_upload_ids() == []


async def test_another_principal_cannot_see_an_upload(services):
    upload = await services.tus.create("admin", {"space_id": "tus", "file_uri": URI}, len(DATA))
    with pytest.raises(NotFoundError):
        await services.tus.status(upload.id, "mallory")
    with pytest.raises(NotFoundError):
        await services.tus.append(upload.id, "mallory", 0, body(DATA))
    with pytest.raises(NotFoundError):
        await services.tus.terminate(upload.id, "mallory")
    assert (await services.tus.status(upload.id, "admin")).offset == 0
