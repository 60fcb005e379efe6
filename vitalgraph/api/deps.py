"""Request dependencies: the services, the authenticated principal, and body helpers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from pydantic import AfterValidator
from starlette.requests import ClientDisconnect

from vitalgraph.api.audit import note_actor
from vitalgraph.api.idle import IdleTimeout, IdleWatchdog
from vitalgraph.config import Settings
from vitalgraph.errors import (
    AuthenticationError,
    FeatureDisabledError,
    InvalidInputError,
    RequestTimeoutError,
    UploadIncompleteError,
)
from vitalgraph.model import MAX_URI_LENGTH, uri_length
from vitalgraph.services.auth import Principal
from vitalgraph.services.container import Services

# ASCII digits only (str.isdigit() also takes the Latin-1 "²", "³" and "¹", which int() refuses), and at
# most 19 of them: any byte count fits, and int() is never handed thousands of digits.
_HEADER_INTEGER = re.compile(r"[0-9]{1,19}")
# Two ways to say who you are, both sent as `Authorization: Bearer ...`; OpenAPI lists both, so the
# explorer at /docs offers a username/password login (OAuth2 password flow against /api/login) and a
# box for an API token.
_login = OAuth2PasswordBearer(
    tokenUrl="/api/login",
    auto_error=False,
    scheme_name="login",
    description="Log in with a username and password; the access token from /api/login is sent as Bearer.",
)
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (POST /api/tokens) or an access token, sent as `Authorization: Bearer ...`.",
)


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency on a worker thread, and under load every
    # thread hop costs a full event-loop iteration.
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def bearer_token(
    login_token: Annotated[str | None, Depends(_login)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The bearer token of the request, if any (both schemes read the same header)."""
    return credentials.credentials if credentials is not None else login_token


async def current_principal(
    request: Request, services: ServicesDep, token: Annotated[str | None, Depends(bearer_token)]
) -> Principal:
    """The caller, from a JWT access token or an API token; AuthenticationError (401) otherwise."""
    if token is None:
        raise AuthenticationError(
            "missing bearer token: log in at /api/login and send 'Authorization: Bearer <token>'"
        )
    principal = await services.auth.authenticate(token)
    note_actor(request, principal.username)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def require_streaming(services: ServicesDep) -> None:
    if not services.settings.STREAMING_ENABLED:
        raise FeatureDisabledError("streaming routes are disabled on this server (STREAMING_ENABLED=false)")


async def request_body(request: Request) -> AsyncIterator[bytes]:
    """The raw body, chunk by chunk. A client that goes away becomes an UploadIncompleteError; one that
    keeps the connection open but sends nothing for TRANSFER_IDLE_TIMEOUT_SECONDS a RequestTimeoutError,
    so it cannot hold a staging file (or an S3 multipart upload) forever. Only the time spent waiting
    for the client counts: while the server is not asking for more (back-pressure), no clock runs."""
    settings: Settings = request.app.state.services.settings
    idle_timeout = settings.TRANSFER_IDLE_TIMEOUT_SECONDS
    chunks = request.stream().__aiter__()
    watchdog = IdleWatchdog(idle_timeout)
    try:
        while True:
            try:
                chunk = await watchdog.wait(chunks.__anext__())
            except StopAsyncIteration:
                return
            except IdleTimeout:
                raise RequestTimeoutError(
                    f"the client sent no body bytes for {idle_timeout:g} s (TRANSFER_IDLE_TIMEOUT_SECONDS); "
                    "the upload was abandoned"
                ) from None
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise UploadIncompleteError("client disconnected before the upload finished") from None
    finally:
        watchdog.close()


def header_integer(request: Request, name: str) -> int | None:
    """A non-negative integer header such as Content-Length or Upload-Offset; None when absent."""
    value = request.headers.get(name)
    if value is None:
        return None
    if not _HEADER_INTEGER.fullmatch(value):
        raise InvalidInputError(
            f"invalid {name} header {value[:40]!r}: expected a non-negative integer of at most 19 digits"
        )
    return int(value)


def declared_length(request: Request) -> int | None:
    return header_integer(request, "Content-Length")


def split_uri_list(uri_list: list[str] | None) -> list[str]:
    """`uri_list` may repeat, or carry several URIs separated by commas (the existing VitalGraph form)."""
    uris = [u.strip() for item in uri_list or [] for u in item.split(",")]
    return [u for u in uris if u]


# --- query parameters shared by the routes over graph objects (objects, files, kgtypes, kgentities) ---
GraphId = Annotated[str | None, Query(max_length=256)]


def _addressable(uri: str | None) -> str | None:
    if uri is not None and uri_length(uri) > MAX_URI_LENGTH:
        raise ValueError(f"longer than {MAX_URI_LENGTH} bytes in UTF-8 (MAX_URI_LENGTH)")
    return uri


FileUri = Annotated[str, Query(min_length=1, max_length=MAX_URI_LENGTH), AfterValidator(_addressable)]
OptionalUri = Annotated[str | None, Query(max_length=MAX_URI_LENGTH), AfterValidator(_addressable)]
UriList = Annotated[list[str] | None, Query()]
PageSize = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
Search = Annotated[str | None, Query(max_length=1024)]


@dataclass(frozen=True)
class Selection:
    """The objects a GET or DELETE names: `uri`, and `uri_list` as sent (repeated or comma-separated)."""

    uri: str | None
    uri_list: list[str] | None

    def listed(self) -> list[str]:
        return split_uri_list(self.uri_list)

    def uris(self) -> list[str]:
        """`uri` and `uri_list` together."""
        return ([self.uri] if self.uri else []) + self.listed()

    def to_delete(self, what: str = "objects") -> list[str]:
        """`uris()`; InvalidInputError naming `what` when there are none."""
        uris = self.uris()
        if not uris:
            raise InvalidInputError(f"name the {what} to delete with 'uri' or 'uri_list'")
        return uris


async def selection(uri: OptionalUri = None, uri_list: UriList = None) -> Selection:
    return Selection(uri, uri_list)


Selected = Annotated[Selection, Depends(selection)]


@dataclass(frozen=True)
class Page:
    """Which page of a list: at most `size` items from `offset` on."""

    size: int
    offset: int


async def page(page_size: PageSize = 100, offset: Offset = 0) -> Page:
    return Page(page_size, offset)


Paged = Annotated[Page, Depends(page)]


@dataclass(frozen=True)
class Listing:
    """What a GET over a collection asks for: the objects `selected` names, else a page of those whose
    text values contain `search`."""

    selected: Selection
    page: Page
    search: str | None


async def listing(selected: Selected, page: Paged, search: Search = None) -> Listing:
    return Listing(selected, page, search)


Listed = Annotated[Listing, Depends(listing)]
