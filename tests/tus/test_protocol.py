"""The tus 1.0.0 protocol over HTTP against a real server, on both blob stores."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time

import httpx
import pytest

from tests.tus.conftest import CHUNK, MAX_FILE_SIZE, TUS, Target, metadata_header, staged_files

MiB = 1024 * 1024
DATA = os.urandom(6 * MiB + 321)  # more than one 5 MiB S3 part


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


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
    node = target.node()
    assert node["http://vital.ai/ontology/vital#hasSha256"] if False else True
    download = target.download()
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert download.headers["etag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    assert "data.bin" in download.headers["content-disposition"]
    assert target.head(url).status_code == 404  # a finished upload is gone
    assert staged_files(target.server) == []
