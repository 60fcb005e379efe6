"""Accounts kept in the graph store's system graph: users, login sessions and API tokens.

Everything lives in the system graph, so several server replicas on one SPARQL server share it:
a token revoked through one replica is refused by every other on its next request.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.base import GraphStore, iri, literal
from vitalgraph.services.spaces import SYSTEM_GRAPH, VG

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MIN_DISTINCT_PASSWORD_CHARS = 5


class Role(str, Enum):
    ADMIN = "admin"
    WRITER = "writer"
    READER = "reader"


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    created: datetime | None  # None for the configured admin, which is not stored
    password_hash: str


@dataclass(frozen=True)
class ApiTokenRecord:
    token_id: str
    username: str
    name: str
    created: datetime
    expires_at: int | None  # unix seconds; None = never


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInputError(
            f"invalid username {username[:80]!r}: use 1-64 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return username


def check_password(password: str, username: str) -> str:
    """Refuse passwords that are short, repetitive or the username itself (nothing is stored then)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    if len(set(password)) < MIN_DISTINCT_PASSWORD_CHARS:
        raise InvalidInputError(
            f"password too weak: use at least {MIN_DISTINCT_PASSWORD_CHARS} different characters"
        )
    if username.lower() in password.lower():
        raise InvalidInputError("password too weak: it must not contain the username")
    return password


def _uri(kind: str, key: str) -> str:
    return f"urn:vitalgraph:{kind}:{key}"


def _node(kind: str, key: str) -> str:
    return iri(_uri(kind, key))


def _now() -> datetime:
    return datetime.now(UTC)


class AccountStore:
    """Reads and writes account records; checks of who may do what live in AuthService/AccessService."""

    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    async def _select(self, where: str, variables: str, *, point_lookup: bool = False) -> list[dict]:
        """Rows of the system graph; `point_lookup` for the key-bound reads every request makes."""
        query = f"SELECT {variables} WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {where} }} }}"
        rows = await self.graph.select(query, point_lookup=point_lookup)
        return [{name: term.value for name, term in row.items()} for row in rows]  # type: ignore[attr-defined]

    async def _insert(self, triples: str) -> None:
        await self.graph.update(f"INSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ {triples} }} }}")

    async def _delete_where(self, pattern: str) -> None:
        await self.graph.update(f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {pattern} }} }}")

    # --- users -----------------------------------------------------------------------------------
    async def create_user(self, username: str, role: Role, password_hash: str) -> User | None:
        """The new user; None if the name is taken, or is being taken by another request right now."""
        created = _now()
        node = _node("user", username)
        inserted = await self.graph.create_once(
            SYSTEM_GRAPH,
            _uri("user", username),
            f"{node} a <{VG}User> ; <{VG}username> {literal(username)} ; "
            f"<{VG}role> {literal(role.value)} ; <{VG}passwordHash> {literal(password_hash)} ; "
            f"<{VG}created> {literal(created.isoformat())} .",
        )
        return User(username, role, created, password_hash) if inserted else None

    async def get_user(self, username: str) -> User | None:
        if not USERNAME_PATTERN.fullmatch(username):
            return None
        users = await self._users(_node("user", username), point_lookup=True)
        return users[0] if users else None

    async def list_users(self) -> list[User]:
        return await self._users("?u")

    async def _users(self, subject: str, *, point_lookup: bool = False) -> list[User]:
        rows = await self._select(
            f"{subject} a <{VG}User> ; <{VG}username> ?name ; <{VG}role> ?role ; <{VG}passwordHash> ?hash ; "
            f"<{VG}created> ?created .",
            "?name ?role ?hash ?created",
            point_lookup=point_lookup,
        )
        users = [
            User(r["name"], Role(r["role"]), datetime.fromisoformat(r["created"]), r["hash"]) for r in rows
        ]
        return sorted(users, key=lambda u: u.username)

    async def set_user_field(self, username: str, field: str, value: str) -> None:
        node = _node("user", username)
        await self.graph.update(
            f"WITH <{SYSTEM_GRAPH}> DELETE {{ {node} <{VG}{field}> ?old }} "
            f"INSERT {{ {node} <{VG}{field}> {literal(value)} }} WHERE {{ {node} <{VG}{field}> ?old }}"
        )

    async def delete_user(self, username: str) -> None:
        """The user and everything that is theirs: grants, sessions, API tokens."""
        name = literal(username)
        await self._delete_where(f"?g <{VG}grantUser> {name} ; ?p ?o")
        await self.delete_sessions_of(username)
        await self.delete_tokens_of(username)
        await self._delete_where(f"{_node('user', username)} ?p ?o")

    # --- sessions: one per login, carried by its access and refresh tokens --------------------------
    async def create_session(self, session_id: str, username: str, refresh_id: str, expires_at: int) -> None:
        await self._insert(
            f"{_node('session', session_id)} a <{VG}Session> ; <{VG}sessionUser> {literal(username)} ; "
            f"<{VG}refreshId> {literal(refresh_id)} ; <{VG}expiresAt> {literal(str(expires_at))} ."
        )

    async def session_user(self, session_id: str) -> str | None:
        rows = await self._select(
            f"{_node('session', session_id)} <{VG}sessionUser> ?user .", "?user", point_lookup=True
        )
        return rows[0]["user"] if rows else None

    async def rotate_refresh(self, session_id: str, old_refresh_id: str, new_refresh_id: str) -> bool:
        """Swap the session's refresh id if it is still `old_refresh_id`; False if it was not (reuse, logout)."""
        node = _node("session", session_id)
        await self.graph.update(
            f"WITH <{SYSTEM_GRAPH}> DELETE {{ {node} <{VG}refreshId> {literal(old_refresh_id)} }} "
            f"INSERT {{ {node} <{VG}refreshId> {literal(new_refresh_id)} }} "
            f"WHERE {{ {node} <{VG}refreshId> {literal(old_refresh_id)} }}"
        )
        rows = await self._select(f"{node} <{VG}refreshId> ?id .", "?id")
        return [r["id"] for r in rows] == [new_refresh_id]

    async def delete_session(self, session_id: str) -> None:
        await self._delete_where(f"{_node('session', session_id)} ?p ?o")

    async def delete_sessions_of(self, username: str) -> None:
        await self._delete_where(f"?s <{VG}sessionUser> {literal(username)} ; ?p ?o")

    async def delete_expired_sessions(self) -> None:
        now = int(time.time())
        await self.graph.update(
            f"WITH <{SYSTEM_GRAPH}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s a <{VG}Session> ; <{VG}expiresAt> ?e ; ?p ?o . "
            f"FILTER(<http://www.w3.org/2001/XMLSchema#integer>(?e) < {now}) }}"
        )

    # --- API tokens: only the SHA-256 of the secret is kept --------------------------------------------
    async def create_token(self, record: ApiTokenRecord, secret_hash: str) -> None:
        expires = (
            f" ; <{VG}expiresAt> {literal(str(record.expires_at))}" if record.expires_at is not None else ""
        )
        await self._insert(
            f"{_node('apitoken', record.token_id)} a <{VG}ApiToken> ; <{VG}tokenHash> {literal(secret_hash)} ; "
            f"<{VG}tokenUser> {literal(record.username)} ; <{VG}tokenName> {literal(record.name)} ; "
            f"<{VG}created> {literal(record.created.isoformat())}{expires} ."
        )

    async def find_token(self, secret_hash: str) -> ApiTokenRecord | None:
        found = await self._tokens(f"?t <{VG}tokenHash> {literal(secret_hash)} .", point_lookup=True)
        return found[0] if found else None

    async def list_tokens(self, username: str | None = None) -> list[ApiTokenRecord]:
        owner = f"?t <{VG}tokenUser> {literal(username)} ." if username is not None else ""
        return await self._tokens(owner)

    async def get_token(self, token_id: str) -> ApiTokenRecord | None:
        if not re.fullmatch(r"[0-9a-f]{16}", token_id):
            return None
        found = await self._tokens(f"VALUES ?t {{ {_node('apitoken', token_id)} }}", point_lookup=True)
        return found[0] if found else None

    async def _tokens(self, condition: str, *, point_lookup: bool = False) -> list[ApiTokenRecord]:
        rows = await self._select(
            f"{condition} ?t a <{VG}ApiToken> ; <{VG}tokenUser> ?user ; <{VG}tokenName> ?name ; "
            f"<{VG}created> ?created . OPTIONAL {{ ?t <{VG}expiresAt> ?expires }}",
            "?t ?user ?name ?created ?expires",
            point_lookup=point_lookup,
        )
        records = [
            ApiTokenRecord(
                token_id=r["t"].rsplit(":", 1)[1],
                username=r["user"],
                name=r["name"],
                created=datetime.fromisoformat(r["created"]),
                expires_at=int(r["expires"]) if "expires" in r else None,
            )
            for r in rows
        ]
        return sorted(records, key=lambda t: (t.created, t.token_id))

    async def delete_token(self, token_id: str) -> None:
        await self._delete_where(f"{_node('apitoken', token_id)} ?p ?o")

    async def delete_tokens_of(self, username: str) -> None:
        await self._delete_where(f"?t <{VG}tokenUser> {literal(username)} ; ?p ?o")

    # --- grants: (user, space) -> level ---------------------------------------------------------------
    async def set_grant(self, space_id: str, username: str, level: str) -> None:
        node = _node("grant", f"{space_id}/{username}")
        await self._delete_where(f"{node} ?p ?o")
        await self._insert(
            f"{node} a <{VG}Grant> ; <{VG}grantSpace> {literal(space_id)} ; <{VG}grantUser> {literal(username)} ; "
            f"<{VG}grantLevel> {literal(level)} ."
        )

    async def grants(
        self, *, space_id: str | None = None, username: str | None = None
    ) -> list[tuple[str, str, str]]:
        """(space_id, username, level) for the grants matching the given space and/or user."""
        space = literal(space_id) if space_id is not None else "?space"
        user = literal(username) if username is not None else "?user"
        rows = await self._select(
            f"?g a <{VG}Grant> ; <{VG}grantSpace> {space} ; <{VG}grantUser> {user} ; <{VG}grantLevel> ?level .",
            "?g ?level",
            point_lookup=space_id is not None and username is not None,
        )
        result = []
        for row in rows:
            granted_space, granted_user = row["g"].split(":", 3)[3].split("/", 1)
            result.append((granted_space, granted_user, row["level"]))
        return sorted(result)

    async def delete_grant(self, space_id: str, username: str) -> None:
        await self._delete_where(f"{_node('grant', f'{space_id}/{username}')} ?p ?o")

    async def delete_grants_on(self, space_id: str) -> None:
        await self._delete_where(f"?g <{VG}grantSpace> {literal(space_id)} ; ?p ?o")
