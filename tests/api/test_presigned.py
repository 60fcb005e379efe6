"""GET /api/files/presigned: a URL straight to S3 on the S3 store; on the local store a link the server
signs itself (its checks: tests/api/test_signed_links.py)."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.conftest import FileSlot

DATA = os.urandom(6 * 1024 * 1024 + 17)  # over one S3 part: a multipart upload's object
PRESIGNED = "/api/files/presigned"


def _presign(slot: FileSlot, **params: str) -> httpx.Response:
    return slot.client.get(PRESIGNED, params={**slot.params, **params})


@pytest.mark.only_with(server="s3")  # S3 presigns; the local store signs its own links (test_signed_links.py)
def test_presigned_url_downloads_the_exact_bytes_with_plain_httpx(slot, server):
    assert slot.upload(DATA, content_type="application/pdf", filename="Q3 report é.pdf").status_code == 200
    response = _presign(slot, expires="120")
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["uri"] == slot.uri
    assert reply["expires_in"] == 120
    assert (reply["size"], reply["sha256"]) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    expires_at = datetime.fromisoformat(reply["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(seconds=120))) < timedelta(seconds=10)

    direct = httpx.get(reply["url"], timeout=30)  # no token: the signature is the authorisation
    assert direct.status_code == 200
    assert direct.content == DATA
    assert direct.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''Q3%20report%20%C3%A9.pdf" in direct.headers["content-disposition"]
    assert httpx.get(reply["url"].replace("Signature=", "Signature=0"), timeout=30).status_code == 403
    assert slot.upload(b"replaced").status_code == 200
    assert httpx.get(reply["url"], timeout=30).status_code == 404  # the old upload's object is gone


@pytest.mark.only_with(server="s3")  # S3 presigns; the local store signs its own links (test_signed_links.py)
def test_default_lifetime_is_an_hour(slot, server):
    slot.upload(b"small")
    reply = _presign(slot).json()
    assert reply["expires_in"] == 3600
    assert httpx.get(reply["url"], timeout=30).content == b"small"


@pytest.mark.only_with(server="local")  # the local store only: S3 presigns its own URLs
def test_local_store_signs_its_own_links(slot, server):
    slot.upload(b"bytes", content_type="text/plain", filename="b.txt")
    response = _presign(slot, expires="60")
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["url"].startswith(server.url + "/api/files/signed?token=")
    assert (reply["expires_in"], reply["size"]) == (60, 5)
    assert reply["sha256"] == hashlib.sha256(b"bytes").hexdigest()
    direct = httpx.get(reply["url"], timeout=30)  # no token: the signature is the authorisation
    assert direct.status_code == 200 and direct.content == b"bytes"
    assert "b.txt" in direct.headers["content-disposition"]


@pytest.mark.parametrize("expires", ["0", "-5", "abc", "1.5", "604801", "99999999999999999999"])
def test_bad_expires_is_400_naming_the_parameter(slot, expires):
    slot.upload(b"bytes")
    response = _presign(slot, expires=expires)
    assert response.status_code == 400, response.text
    assert "'expires'" in response.json()["detail"]


def test_file_without_content_or_unknown_is_404(slot, server):
    response = _presign(slot)
    assert response.status_code == 404
    assert "no content" in response.json()["detail"]
    unknown = slot.client.get(PRESIGNED, params={"space_id": slot.space_id, "uri": "http://x/none"})
    assert unknown.status_code == 404 and "http://x/none" in unknown.json()["detail"]


def test_presigning_needs_a_token(slot, server):
    response = httpx.get(server.url + PRESIGNED, params=slot.params)
    assert response.status_code == 401


@pytest.mark.only_with(server="s3")  # S3 presigns; the local store signs its own links (test_signed_links.py)
def test_an_expired_url_is_refused(slot, server):
    slot.upload(b"short-lived")
    url = _presign(slot, expires="1").json()["url"]
    time.sleep(2.1)
    assert httpx.get(url, timeout=30).status_code == 403
