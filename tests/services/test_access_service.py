"""Users, sessions, API tokens and grants on the real services (embedded stores in a temp dir)."""

import asyncio
import hashlib
import time

import pytest

from vitalgraph.config import SettingsError, load_settings
from vitalgraph.errors import AuthenticationError, InvalidInputError, PermissionDeniedError
from vitalgraph.services.access import Permission
from vitalgraph.services.accounts import Role, check_password, check_username
from vitalgraph.services.auth import Principal, password_hasher
from vitalgraph.services.container import Services
from vitalgraph.services.spaces import SYSTEM_GRAPH

pytestmark = pytest.mark.anyio
PASSWORD = "a-long-enough-password"


@pytest.fixture
async def services(tmp_path):
    started = await Services.start(
        load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="admin-password-1"), collect_garbage=False
    )
    yield started
    await started.stop()


async def system_graph_text(services: Services) -> str:
    rows = await services.graph.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ ?s ?p ?o }} }}")
    return "\n".join(" ".join(str(term) for term in row.values()) for row in rows)


@pytest.mark.parametrize("name", ["alice", "bob.smith", "ci-bot_2", "a@example.org", "x" * 64])
def test_good_usernames(name):
    assert check_username(name) == name


@pytest.mark.parametrize("name", ["", "-lead", ".lead", "a b", "a/b", "a:b", "a\nb", "é", "x" * 65, "<a>"])
def test_bad_usernames(name):
    with pytest.raises(InvalidInputError, match="invalid username"):
        check_username(name)


@pytest.mark.parametrize(
    "password, reason",
    [
        ("", "too short"),
        ("123456789", "too short"),
        ("abababababab", "too weak"),
        ("xx-alice-xx-1", "username"),
        ("p" * 1025, "too long"),
    ],
)
def test_weak_passwords(password, reason):
    with pytest.raises(InvalidInputError, match=reason):
        check_password(password, "alice")


async def test_passwords_are_stored_as_argon2_hashes_only(services):
    await services.auth.create_user("alice", PASSWORD, Role.WRITER)
    stored = await system_graph_text(services)
    assert PASSWORD not in stored and "$argon2id$" in stored


async def test_new_hashes_have_the_configured_cost(services):
    """The suite runs at a test suite's cost (tests/fixtures/servers.py): the setting reaches the hash."""
    await services.auth.create_user("carol", PASSWORD, Role.WRITER)
    assert "$argon2id$v=19$m=1024,t=1,p=4$" in await system_graph_text(services)


def test_the_default_cost_is_argon2_cffis_and_production_refuses_less(monkeypatch, tmp_path):
    for name in ("VITALGRAPH_PASSWORD_HASH_TIME_COST", "VITALGRAPH_PASSWORD_HASH_MEMORY_KIB"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(DATA_DIR=tmp_path)
    hasher = password_hasher(settings.PASSWORD_HASH_TIME_COST, settings.PASSWORD_HASH_MEMORY_KIB)
    assert hasher.hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    with pytest.raises(SettingsError, match="VITALGRAPH_PASSWORD_HASH_MEMORY_KIB below 19456"):
        load_settings(DATA_DIR=tmp_path, PRODUCTION=True, JWT_SECRET="s" * 32, PASSWORD_HASH_MEMORY_KIB=1024)
    production = load_settings(DATA_DIR=tmp_path, PRODUCTION=True, JWT_SECRET="s" * 32)
    assert (production.PASSWORD_HASH_TIME_COST, production.PASSWORD_HASH_MEMORY_KIB) == (3, 65536)


async def test_api_tokens_are_stored_as_sha256_only(services):
    record, secret = await services.auth.create_api_token("admin", "ci")
    stored = await system_graph_text(services)
    assert secret not in stored and secret[4:] not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    principal = await services.auth.authenticate(secret)
    assert principal == Principal("admin", Role.ADMIN, token_id=record.token_id)


async def test_an_expired_api_token_is_refused(services):
    record, secret = await services.auth.create_api_token("admin", "short", expires_in_seconds=60)
    await services.auth.accounts.delete_token(record.token_id)
    expired = record.__class__(record.token_id, "admin", "short", record.created, int(time.time()) - 1)
    await services.auth.accounts.create_token(expired, hashlib.sha256(secret.encode()).hexdigest())
    with pytest.raises(AuthenticationError, match="expired"):
        await services.auth.authenticate(secret)


async def test_an_expired_access_token_is_refused(services):
    services.auth.access_ttl = -30
    tokens = await services.auth.login("admin", "admin-password-1")
    with pytest.raises(AuthenticationError, match="access token expired"):
        await services.auth.authenticate(tokens.access_token)


async def test_a_token_signed_with_another_secret_is_refused(services):
    tokens = await services.auth.login("admin", "admin-password-1")
    services.auth._secret = "another-secret-of-at-least-32-characters"
    with pytest.raises(AuthenticationError, match="invalid access token"):
        await services.auth.authenticate(tokens.access_token)


async def test_role_ceilings_and_grants(services):
    await services.spaces.create("s1")
    await services.auth.create_user("wendy", PASSWORD, Role.WRITER)
    await services.auth.create_user("rita", PASSWORD, Role.READER)
    wendy, rita = Principal("wendy", Role.WRITER), Principal("rita", Role.READER)
    with pytest.raises(PermissionDeniedError, match="needs 'read' permission on space 's1'"):
        await services.access.check_space(rita, "s1", Permission.READ)
    with pytest.raises(InvalidInputError, match="at most 'read'"):
        await services.access.grant("s1", "rita", Permission.WRITE)
    await services.access.grant("s1", "rita", Permission.READ)
    await services.access.grant("s1", "wendy", Permission.WRITE)
    await services.access.check_space(rita, "s1", Permission.READ)
    await services.access.check_space(wendy, "s1", Permission.WRITE)
    with pytest.raises(PermissionDeniedError, match="needs 'manage'.*you have 'write'"):
        await services.access.check_space(wendy, "s1", Permission.MANAGE)
    # A writer demoted to reader keeps only read, whatever the grant says.
    await services.auth.update_user("wendy", role=Role.READER)
    demoted = await services.auth.authenticate((await services.auth.login("wendy", PASSWORD)).access_token)
    assert await services.access.permission_on(demoted, "s1") is Permission.READ
    assert (
        await services.access.permission_on(Principal("admin", Role.ADMIN), "anything") is Permission.MANAGE
    )


async def test_deleting_a_user_removes_every_record_of_theirs(services):
    await services.spaces.create("s1")
    await services.auth.create_user("gone", PASSWORD, Role.WRITER)
    await services.access.grant("s1", "gone", Permission.WRITE)
    await services.auth.login("gone", PASSWORD)
    await services.auth.create_api_token("gone", "ci")
    assert "gone" in await system_graph_text(services)
    await services.auth.delete_user("gone")
    assert "gone" not in await system_graph_text(services)


async def test_deleting_a_space_removes_its_grants(services):
    await services.spaces.create("s1")
    await services.auth.create_user("wendy", PASSWORD, Role.WRITER)
    await services.access.grant("s1", "wendy", Permission.WRITE)
    await services.access.delete_space("s1")
    assert await services.auth.accounts.grants(username="wendy") == []


async def test_expired_sessions_are_swept_at_login(services):
    await services.auth.accounts.create_session("old0session", "admin", "r1", int(time.time()) - 10)
    await services.auth.accounts.create_session("live0session", "admin", "r2", int(time.time()) + 600)
    await services.auth.login("admin", "admin-password-1")
    assert await services.auth.accounts.session_user("old0session") is None
    assert await services.auth.accounts.session_user("live0session") == "admin"


async def test_a_token_checked_before_is_still_refused_once_it_expires(services):
    """Its signature is remembered (auth._decode), its expiry is not: it is checked on every request."""
    services.auth.access_ttl = 1
    tokens = await services.auth.login("admin", "admin-password-1")
    assert (await services.auth.authenticate(tokens.access_token)).username == "admin"
    await asyncio.sleep(1.1)
    with pytest.raises(AuthenticationError, match="access token expired"):
        await services.auth.authenticate(tokens.access_token)


async def test_a_token_checked_before_is_refused_after_logout_and_after_the_secret_changes(services):
    tokens = await services.auth.login("admin", "admin-password-1")
    await services.auth.authenticate(tokens.access_token)
    services.auth._secret = "another-secret-of-at-least-32-characters"
    with pytest.raises(AuthenticationError, match="invalid access token"):
        await services.auth.authenticate(tokens.access_token)
    other = await services.auth.login("admin", "admin-password-1")
    await services.auth.authenticate(other.access_token)
    await services.auth.logout(other.refresh_token)
    with pytest.raises(AuthenticationError, match="revoked"):
        await services.auth.authenticate(other.access_token)
