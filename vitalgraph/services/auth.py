"""Authentication: the admin account, password hashing (argon2) and JWT access/refresh tokens."""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vitalgraph.services.errors import AuthenticationError

logger = logging.getLogger("vitalgraph.auth")
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    username: str


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


def load_or_create_secrets(data_dir: Path, admin_password: str | None, jwt_secret: str | None) -> GeneratedSecrets:
    """Read (or at first start create) `auth.json` in the data dir, readable by the owner only."""
    path = data_dir / "auth.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    hasher = PasswordHasher()
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
    ) -> None:
        self.admin_username = admin_username
        self._password_hash = admin_password_hash
        self._secret = jwt_secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._hasher = PasswordHasher()

    def login(self, username: str, password: str) -> TokenPair:
        if username != self.admin_username or not _verify(self._hasher, self._password_hash, password):
            raise AuthenticationError("wrong username or password")
        return self._issue(username)

    def refresh(self, refresh_token: str) -> TokenPair:
        claims = self._decode(refresh_token, expected_type="refresh")
        return self._issue(claims["sub"])

    def authenticate(self, access_token: str) -> Principal:
        claims = self._decode(access_token, expected_type="access")
        return Principal(username=claims["sub"])

    def _issue(self, username: str) -> TokenPair:
        now = int(time.time())
        access = self._encode(username, "access", now, self.access_ttl)
        refresh = self._encode(username, "refresh", now, self.refresh_ttl)
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=self.access_ttl)

    def _encode(self, username: str, kind: str, now: int, ttl: int) -> str:
        claims = {"sub": username, "typ": kind, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, *, expected_type: str) -> dict:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AuthenticationError(f"{expected_type} token expired") from None
        except jwt.InvalidTokenError:
            raise AuthenticationError(f"invalid {expected_type} token") from None
        if claims.get("typ") != expected_type:
            raise AuthenticationError(f"not a {expected_type} token")
        return claims
