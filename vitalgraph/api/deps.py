"""Request dependencies: the services, the authenticated principal, and body helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import ClientDisconnect

from vitalgraph.model import GraphObject
from vitalgraph.services.auth import Principal
from vitalgraph.services.container import Services
from vitalgraph.services.errors import AuthenticationError, FeatureDisabledError, InvalidInputError, PayloadTooLargeError
from vitalgraph.services.errors import UploadIncompleteError

MAX_JSON_BODY = 32 * 1024 * 1024
_bearer = HTTPBearer(auto_error=False)


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def current_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a JWT access token or an API token; AuthenticationError (401) otherwise."""
    if credentials is None:
        raise AuthenticationError("missing bearer token: log in at /api/login and send 'Authorization: Bearer <token>'")
    return await services.auth.authenticate(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_streaming(services: ServicesDep) -> None:
    if not services.settings.STREAMING_ENABLED:
        raise FeatureDisabledError("streaming routes are disabled on this server (STREAMING_ENABLED=false)")


async def request_body(request: Request) -> AsyncIterator[bytes]:
    """The raw body, chunk by chunk; a client that goes away becomes an UploadIncompleteError."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise UploadIncompleteError("client disconnected before the upload finished") from None


def declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInputError(f"invalid Content-Length header {value[:40]!r}")
    return int(value)


async def read_json(request: Request) -> Any:
    size = declared_length(request)
    if size is not None and size > MAX_JSON_BODY:
        raise PayloadTooLargeError(f"JSON body over {MAX_JSON_BODY} bytes")
    body = bytearray()
    async for chunk in request_body(request):
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise PayloadTooLargeError(f"JSON body over {MAX_JSON_BODY} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"request body is not valid JSON: {exc}") from None


async def read_graph_objects(request: Request) -> list[GraphObject]:
    return GraphObject.from_jsonld(await read_json(request))


def split_uri_list(uri_list: list[str] | None) -> list[str]:
    """`uri_list` may repeat, or carry several URIs separated by commas (the existing VitalGraph form)."""
    uris = [u.strip() for item in uri_list or [] for u in item.split(",")]
    return [u for u in uris if u]
