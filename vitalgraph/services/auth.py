"""Authentication: who is calling. The configured admin account, users (argon2 password hashes),
login sessions carried by JWT access/refresh tokens, and API tokens for machine clients.

Every token is checked against the system graph on each request, so a revoked token (logout, a
revoked API token, a deleted user or a changed password) is refused at once by every replica.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vitalgraph.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from vitalgraph.services.accounts import (
    AccountStore,
    ApiTokenRecord,
    Role,
    User,
    check_password,
    check_username,
)
from vitalgraph.services.login_throttle import LoginThrottle

logger = logging.getLogger("vitalgraph.auth")
ALGORITHM = "HS256"
API_TOKEN_PREFIX = "vgk_"
MAX_TOKEN_NAME = 200
MAX_VERIFIED_TOKENS = 4096  # signatures remembered (see AuthService._decode)


@dataclass(frozen=True)
class Principal:
    """The caller. `session_id` is set for a login's JWTs, `token_id` for an API token."""

    username: str
    role: Role
    session_id: str | None = None
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True)
class GeneratedSecrets:
    """Secrets made at first start; `admin_password` is set only the one time it was generated."""

    jwt_secret: str
    admin_password_hash: str
    admin_password: str | None


def password_hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    """argon2id with the configured cost (PASSWORD_HASH_TIME_COST, PASSWORD_HASH_MEMORY_KIB)."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=min(4, memory_kib // 8))


def load_or_create_secrets(
    data_dir: Path, admin_password: str | None, jwt_secret: str | None, hasher: PasswordHasher
) -> GeneratedSecrets:
    """Read (or at first start create) `auth.json` in the data dir, readable by the owner only."""
    path = data_dir / "auth.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    generated_password = None
    if admin_password:
        password_hash = stored.get("admin_password_hash")
        if not password_hash or not _verify(hasher, password_hash, admin_password):
            password_hash = hasher.hash(admin_password)
    elif stored.get("admin_password_hash"):
        password_hash = stored["admin_password_hash"]
    else:
        generated_password = secrets.token_urlsafe(18)
        password_hash = hasher.hash(generated_password)
    secret = jwt_secret or stored.get("jwt_secret") or secrets.token_urlsafe(48)
    wanted = {"admin_password_hash": password_hash, "jwt_secret": stored.get("jwt_secret") or secret}
    if wanted != stored:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(wanted, handle)
        os.replace(tmp, path)
    return GeneratedSecrets(secret, password_hash, generated_password)


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class AuthService:
    def __init__(
        self,
        *,
        admin_username: str,
        admin_password_hash: str,
        jwt_secret: str,
        access_ttl: int,
        refresh_ttl: int,
        accounts: AccountStore,
        login_throttle: LoginThrottle | None = None,
        hasher: PasswordHasher,
    ) -> None:
        self.admin_username = admin_username
        self._password_hash = admin_password_hash
        self._secret = jwt_secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.accounts = accounts
        self.login_throttle = login_throttle or LoginThrottle(
            accounts.graph, max_failures=0, window_seconds=1
        )
        self._hasher = hasher
        self._dummy_hash: str | None = None  # made at the first login, not at start (see _dummy)
        self._users_lock = asyncio.Lock()
        # Signatures already checked, by token: a client sends one access token many times, and
        # checking it costs ~0.1 ms each time. Whether it is still valid (expiry, session) is not kept.
        self._verified: dict[str, tuple[str, dict]] = {}  # token -> (the secret that signed it, claims)

    async def _dummy(self) -> str:
        """A hash to check unknown usernames against, so they cost what known ones do. Made on first use:
        one argon2 hash less at start (a second login may make it again; no harm)."""
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, secrets.token_urlsafe(16))
        return self._dummy_hash

    # --- login, refresh, logout ---------------------------------------------------------------------
    async def login(self, username: str, password: str, client: str = "unknown") -> TokenPair:
        """`client` (the caller's address) is what repeated failures are throttled by (429)."""
        await self.login_throttle.check(username, client)
        known = await self._password_hash_of(username)
        dummy = await self._dummy()  # made for known and unknown usernames alike: equal work either way
        verified = await asyncio.to_thread(_verify, self._hasher, known or dummy, password)
        if known is None or not verified:
            await self.login_throttle.failed(username, client)
            raise AuthenticationError("wrong username or password")
        await self.login_throttle.succeeded(username, client)
        await self.accounts.delete_expired_sessions()
        session_id, refresh_id = uuid.uuid4().hex, uuid.uuid4().hex
        now = int(time.time())
        await self.accounts.create_session(session_id, username, refresh_id, now + self.refresh_ttl)
        return self._issue(username, session_id, refresh_id, now)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new token pair for the same session; the refresh token presented stops working.

        Presenting an already-rotated refresh token ends the whole session: it was copied."""
        claims = self._decode(refresh_token, expected_type="refresh")
        session_id, username = claims["sid"], claims["sub"]
        if await self._role_of(username) is None:
            raise AuthenticationError("refresh token revoked: the user no longer exists")
        new_refresh_id = uuid.uuid4().hex
        if not await self.accounts.rotate_refresh(session_id, claims["jti"], new_refresh_id):
            await self.accounts.delete_session(session_id)
            raise AuthenticationError("refresh token revoked or already used: log in again")
        return self._issue(username, session_id, new_refresh_id, int(time.time()))

    async def logout(self, refresh_token: str) -> None:
        claims = self._decode(refresh_token, expected_type="refresh")
        if await self.accounts.session_user(claims["sid"]) is None:
            raise AuthenticationError("refresh token revoked: the session has already ended")
        await self.accounts.delete_session(claims["sid"])

    # --- who is calling -------------------------------------------------------------------------------
    async def authenticate(self, token: str) -> Principal:
        if token.startswith(API_TOKEN_PREFIX):
            return await self._authenticate_api_token(token)
        claims = self._decode(token, expected_type="access")
        username = claims["sub"]
        if await self.accounts.session_user(claims["sid"]) != username:
            raise AuthenticationError("access token revoked: log in again")
        role = await self._role_of(username)
        if role is None:
            raise AuthenticationError("access token revoked: the user no longer exists")
        return Principal(username, role, session_id=claims["sid"])

    async def _authenticate_api_token(self, token: str) -> Principal:
        record = await self.accounts.find_token(_token_hash(token))
        if record is None:
            raise AuthenticationError("invalid or revoked API token")
        if record.expires_at is not None and record.expires_at <= time.time():
            raise AuthenticationError(f"API token {record.token_id} expired")
        role = await self._role_of(record.username)
        if role is None:
            raise AuthenticationError("invalid or revoked API token")
        return Principal(record.username, role, token_id=record.token_id)

    async def _password_hash_of(self, username: str) -> str | None:
        if username == self.admin_username:
            return self._password_hash
        user = await self.accounts.get_user(username)
        return user.password_hash if user else None

    async def _role_of(self, username: str) -> Role | None:
        if username == self.admin_username:
            return Role.ADMIN
        user = await self.accounts.get_user(username)
        return user.role if user else None

    # --- users (the routes let only admins here) ----------------------------------------------------
    async def create_user(self, username: str, password: str, role: Role) -> User:
        check_username(username)
        check_password(password, username)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._users_lock:
            if username == self.admin_username or await self.accounts.get_user(username) is not None:
                raise ConflictError(f"user {username!r} already exists")
            user = await self.accounts.create_user(username, role, password_hash)
        if user is None:  # another replica took the name between the check and the insert
            raise ConflictError(f"user {username!r} already exists or is being created by another request")
        return user

    @property
    def configured_admin(self) -> User:
        return User(self.admin_username, Role.ADMIN, None, self._password_hash)

    async def list_users(self) -> list[User]:
        """The configured admin first, then the stored users by name."""
        return [self.configured_admin, *await self.accounts.list_users()]

    async def get_user(self, username: str) -> User:
        if username == self.admin_username:
            return self.configured_admin
        user = await self.accounts.get_user(username)
        if user is None:
            raise NotFoundError(f"user {username!r} not found")
        return user

    async def update_user(
        self, username: str, *, role: Role | None = None, password: str | None = None
    ) -> User:
        """Change the role (effective on the user's next request) and/or the password (ends every
        session and revokes every API token of the user)."""
        self._refuse_configured_admin(username, "changed through /api/users")
        user = await self.get_user(username)
        if role is None and password is None:
            raise InvalidInputError("nothing to change: send 'role' and/or 'password'")
        if password is not None:
            check_password(password, username)
            password_hash = await asyncio.to_thread(self._hasher.hash, password)
            await self.accounts.set_user_field(username, "passwordHash", password_hash)
            await self.revoke_all_tokens(username)
        if role is not None:
            await self.accounts.set_user_field(username, "role", role.value)
        return await self.get_user(user.username)

    async def delete_user(self, username: str) -> None:
        self._refuse_configured_admin(username, "deleted")
        await self.get_user(username)
        await self.accounts.delete_user(username)

    async def revoke_all_tokens(self, username: str) -> None:
        await self.accounts.delete_sessions_of(username)
        await self.accounts.delete_tokens_of(username)

    def _refuse_configured_admin(self, username: str, action: str) -> None:
        if username == self.admin_username:
            raise PermissionDeniedError(
                f"the configured admin {username!r} cannot be {action}: it is set by VITALGRAPH_ADMIN_USERNAME "
                "and VITALGRAPH_ADMIN_PASSWORD"
            )

    # --- API tokens ---------------------------------------------------------------------------------------
    async def create_api_token(
        self, owner: str, name: str, expires_in_seconds: int | None = None
    ) -> tuple[ApiTokenRecord, str]:
        """A new token for `owner`; the secret is returned here only, the store keeps its SHA-256."""
        name = name.strip()
        if not name or len(name) > MAX_TOKEN_NAME or any(ord(c) < 32 for c in name):
            raise InvalidInputError(f"invalid token name: use 1-{MAX_TOKEN_NAME} printable characters")
        if await self._role_of(owner) is None:
            raise NotFoundError(f"user {owner!r} not found")
        now = datetime.now(UTC)
        expires_at = int(now.timestamp()) + expires_in_seconds if expires_in_seconds is not None else None
        record = ApiTokenRecord(secrets.token_hex(8), owner, name, now, expires_at)
        secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self.accounts.create_token(record, _token_hash(secret))
        return record, secret

    async def list_api_tokens(self, principal: Principal) -> list[ApiTokenRecord]:
        return await self.accounts.list_tokens(None if principal.is_admin else principal.username)

    async def revoke_api_token(self, principal: Principal, token_id: str) -> ApiTokenRecord:
        """Owners revoke their own tokens, admins any; someone else's token is 'not found' (ids don't leak)."""
        record = await self.accounts.get_token(token_id)
        if record is None or not (principal.is_admin or record.username == principal.username):
            raise NotFoundError(f"API token {token_id[:40]!r} not found")
        await self.accounts.delete_token(token_id)
        return record

    # --- JWTs ------------------------------------------------------------------------------------------
    def _issue(self, username: str, session_id: str, refresh_id: str, now: int) -> TokenPair:
        access = self._encode(username, "access", session_id, uuid.uuid4().hex, now, self.access_ttl)
        refresh = self._encode(username, "refresh", session_id, refresh_id, now, self.refresh_ttl)
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=self.access_ttl)

    def _encode(self, username: str, kind: str, session_id: str, token_id: str, now: int, ttl: int) -> str:
        claims = {
            "sub": username,
            "typ": kind,
            "sid": session_id,
            "iat": now,
            "exp": now + ttl,
            "jti": token_id,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, *, expected_type: str) -> dict:
        verified = self._verified.get(token)
        if verified is not None and verified[0] == self._secret and verified[1]["exp"] > time.time():
            _check_type(verified[1], expected_type)
            return dict(verified[1])  # a copy: the kept claims stay as verified
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "sid", "jti"]}
            )
        except jwt.ExpiredSignatureError:
            self._verified.pop(token, None)
            raise AuthenticationError(f"{expected_type} token expired") from None
        except jwt.InvalidTokenError:
            raise AuthenticationError(f"invalid {expected_type} token") from None
        _check_type(claims, expected_type)
        if len(self._verified) >= MAX_VERIFIED_TOKENS:
            self._verified.pop(next(iter(self._verified)))  # the oldest
        self._verified[token] = (self._secret, claims)
        return dict(claims)


def _check_type(claims: dict, expected_type: str) -> None:
    if claims.get("typ") != expected_type:
        raise AuthenticationError(f"not a {expected_type} token")
    if not all(isinstance(claims[k], str) and claims[k].isalnum() for k in ("sid", "jti")):
        raise AuthenticationError(f"invalid {expected_type} token")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
