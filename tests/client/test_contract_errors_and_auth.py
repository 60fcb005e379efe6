"""Contract: typed errors with the server's message and status, and authentication (login, API key,
refresh before expiry, one retry after a 401), identical for the four client implementations."""

from __future__ import annotations

import httpx
import pytest

from tests.client.conftest import LIMIT, make_file, make_space
from vitalgraph.client import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    VitalGraphClientError,
)


def test_content_of_unknown_or_empty_nodes_is_not_found(client, space, file_uri):
    missing = f"http://example.org/{space}/missing"
    with pytest.raises(NotFoundError) as upload:
        client.files.upload_file_stream(space, None, missing, b"bytes")
    assert missing in upload.value.detail and upload.value.status_code == 404
    with pytest.raises(NotFoundError, match="no content"):
        client.files.download_file_content(space, None, file_uri)
    with pytest.raises(NotFoundError):
        list(client.files.iter_file(space, None, missing))
    with pytest.raises(NotFoundError, match="nope"):
        client.files.list_files("nope")


def test_invalid_input_is_an_invalid_request(client):
    with pytest.raises(InvalidRequestError) as invalid:
        client.spaces.create_space("not a valid id!")
    assert invalid.value.status_code == 400 and "space_id" in invalid.value.detail


@pytest.mark.parametrize("declared", [True, False], ids=["with Content-Length", "counted mid-stream"])
def test_oversize_upload_is_payload_too_large(limited_client, declared):
    space = make_space(limited_client)
    uri = make_file(limited_client, space)
    limited_client.files.upload_file_stream(space, None, uri, b"small")
    body = b"z" * (LIMIT + 1)
    source = body if declared else (body[i : i + 65536] for i in range(0, len(body), 65536))
    with pytest.raises(PayloadTooLargeError) as too_large:
        limited_client.files.upload_file_stream(space, None, uri, source)
    assert too_large.value.status_code == 413
    assert "MAX_STREAMING_FILE_SIZE" in too_large.value.detail or str(LIMIT) in too_large.value.detail
    assert limited_client.files.download_file_content(space, None, uri) == b"small"


def test_wrong_password_fails_at_open(new_client):
    client = new_client(password="wrong password")
    with pytest.raises(AuthenticationError) as failed:
        client.open()
    assert failed.value.status_code == 401 and "password" in failed.value.detail
    assert isinstance(failed.value, VitalGraphClientError)


def test_bad_api_key_is_an_authentication_error(new_client):
    client = new_client(api_key="not-a-token")
    with pytest.raises(AuthenticationError, match="invalid access token"):
        client.spaces.list_spaces()


@pytest.mark.only_with(kind=["async", "sync"])  # each mock signs tokens with its own secret
def test_an_api_key_is_sent_as_is(client, new_client):
    token = client.tokens.access_token
    sent: list[str] = []
    keyed = new_client(api_key=token)
    with keyed.hooks(request=lambda request: sent.append(request.headers["authorization"])):
        keyed.spaces.list_spaces()
    assert sent == [f"Bearer {token}"]


def _auth_paths(requests: list[httpx.Request]) -> list[str]:
    return [request.url.path.rsplit("/", 1)[-1] for request in requests]


def test_an_expiring_token_is_refreshed_first(client):
    client.spaces.list_spaces()
    old_token = client.tokens.access_token
    client.tokens.expires_at = 0  # as if its lifetime had run out
    requests: list[httpx.Request] = []
    with client.hooks(request=requests.append):
        client.spaces.list_spaces()
    assert _auth_paths(requests) == ["refresh", "spaces"]
    assert client.tokens.access_token != old_token


def test_a_rejected_token_is_renewed_and_the_request_sent_once_more(client):
    client.spaces.list_spaces()
    client.tokens.access_token = "revoked"
    statuses: list[tuple[str, int]] = []
    with client.hooks(response=lambda response: statuses.append((response.url.path, response.status_code))):
        assert client.spaces.list_spaces().total_count >= 0
    assert [status for _, status in statuses] == [401, 200, 200]
    assert statuses[1][0].endswith("/api/refresh")


def test_a_refused_refresh_falls_back_to_login(client):
    client.tokens.access_token = None
    client.tokens.refresh_token = "not-a-refresh-token"
    requests: list[httpx.Request] = []
    with client.hooks(request=requests.append):
        client.spaces.list_spaces()
    assert _auth_paths(requests) == ["refresh", "login", "spaces"]


def test_a_rejected_streamed_upload_is_not_resent_but_reported(client, space, file_uri):
    client.tokens.access_token = "revoked"
    one_shot = (piece for piece in [b"a" * 1000, b"b" * 1000])
    with pytest.raises(AuthenticationError):
        client.files.upload_file_stream(space, None, file_uri, one_shot)
    assert client.files.upload_file_stream(space, None, file_uri, b"replayable").size == 10
