"""`client.users` and `client.api_tokens`, identical for the four client implementations."""

from __future__ import annotations

import uuid

import pytest

from tests.client.harness import _Group
from vitalgraph.client import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)

PASSWORD = "correct-horse-battery-staple"


def groups(facade):
    return _Group(facade, facade.client.users), _Group(facade, facade.client.api_tokens)


def test_users_and_grants(client, space):
    users, _ = groups(client)
    username = f"user-{uuid.uuid4().hex[:8]}"
    created = users.create_user(username, PASSWORD, "reader")
    assert (created.username, created.role, created.configured) == (username, "reader", False)
    try:
        with pytest.raises(ConflictError, match="already exists"):
            users.create_user(username, PASSWORD, "reader")
        with pytest.raises(InvalidRequestError, match="password too short"):
            users.create_user(f"{username}-2", "short", "reader")
        assert username in [u.username for u in users.list_users().users]
        assert users.get_user(username).role == "reader"
        assert users.update_user(username, role="writer").role == "writer"
        assert users.grant(space, username, "write").level == "write"
        assert [(g.username, g.level) for g in users.list_grants(space).grants] == [(username, "write")]
        users.revoke(space, username)
        assert users.list_grants(space).grants == []
    finally:
        users.delete_user(username)
    with pytest.raises(NotFoundError, match="not found"):
        users.get_user(username)


def test_api_tokens_create_list_revoke(client):
    _, tokens = groups(client)
    made = tokens.create_token("contract test")
    assert made.token.startswith("vgk_") and made.username == "admin"
    assert made.token_id in [t.token_id for t in tokens.list_tokens().tokens]
    tokens.revoke_token(made.token_id)
    assert made.token_id not in [t.token_id for t in tokens.list_tokens().tokens]
    with pytest.raises(NotFoundError):
        tokens.revoke_token(made.token_id)


@pytest.mark.only_with(kind=["async", "sync"])  # each mock signs tokens with its own secret
def test_an_api_token_works_as_api_key_until_revoked(client, new_client, space):
    users, tokens = groups(client)
    username = f"user-{uuid.uuid4().hex[:8]}"
    users.create_user(username, PASSWORD, "reader")
    try:
        users.grant(space, username, "read")
        made = tokens.create_token("as api_key", username=username)
        keyed = new_client(api_key=made.token)
        assert [s.space_id for s in keyed.spaces.list_spaces().spaces] == [space]
        with pytest.raises(PermissionDeniedError, match=f"needs 'manage' permission on space '{space}'"):
            keyed.spaces.delete_space(space)
        tokens.revoke_token(made.token_id)
        with pytest.raises(AuthenticationError, match="invalid or revoked API token"):
            keyed.spaces.list_spaces()
    finally:
        users.delete_user(username)
