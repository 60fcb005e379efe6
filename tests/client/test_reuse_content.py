"""`client.files.reuse_content`: an upload without the bytes when the space already holds them
(same SHA-256 and size), on every client kind; refused (NotFoundError) otherwise, also for content
that only another space holds."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.client.conftest import make_file, make_space
from tests.client.harness import Facade
from vitalgraph.client.errors import NotFoundError

DATA = os.urandom(200_000)
SHA = hashlib.sha256(DATA).hexdigest()


def _key(client: Facade, space: str, uri: str) -> str | None:
    return client.files.get_file(space, uri).blobKey


def test_content_the_space_holds_is_reused_without_the_bytes(client: Facade, space: str) -> None:
    first, second = make_file(client, space), make_file(client, space)
    client.files.upload_file_stream(space, None, first, DATA)
    result = client.files.reuse_content(space, None, second, SHA, len(DATA), filename="copy.bin")
    assert (result.sha256, result.size, result.filename) == (SHA, len(DATA), "copy.bin")
    assert _key(client, space, second) == _key(client, space, first)
    client.files.delete_file(space, first)
    assert client.files.download_file_content(space, None, second) == DATA


def test_content_the_space_does_not_hold_is_refused_and_the_node_keeps_its_content(
    client: Facade, space: str
) -> None:
    holder, other_space = make_file(client, space), make_space(client)
    client.files.upload_file_stream(space, None, holder, DATA)
    target = make_file(client, other_space)
    client.files.upload_file_stream(other_space, None, target, b"kept")
    with pytest.raises(NotFoundError, match="upload the bytes"):  # another space holds it: no oracle
        client.files.reuse_content(other_space, None, target, SHA, len(DATA))
    with pytest.raises(NotFoundError, match="upload the bytes"):  # same digest, other size
        client.files.reuse_content(space, None, holder, SHA, len(DATA) + 1)
    assert client.files.download_file_content(other_space, None, target) == b"kept"
