"""Read-only SPARQL 1.1 queries over a space's graphs."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from vitalgraph.api.access import ReadableSpaceInPath
from vitalgraph.api.audit import note_detail
from vitalgraph.api.deps import PrincipalDep, ServicesDep, request_body
from vitalgraph.api.json_body import BoundedBodyRoute, parse_json
from vitalgraph.errors import InvalidInputError, PayloadTooLargeError
from vitalgraph.services.sparql import MAX_QUERY_LENGTH

router = APIRouter(prefix="/api/graphs/sparql", tags=["sparql"], route_class=BoundedBodyRoute)

MAX_BODY = 4 * MAX_QUERY_LENGTH  # room for form or JSON encoding around the longest query


@router.post(
    "/{space_id}/query",
    responses={200: {"content": {"application/sparql-results+json": {}, "application/n-triples": {}}}},
)
async def sparql_query(
    space_id: ReadableSpaceInPath, request: Request, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """Body: the query as `application/sparql-query`, or a `query` field (form or JSON).

    SELECT / ASK → `application/sparql-results+json`. CONSTRUCT / DESCRIBE → `application/n-triples`,
    or `application/ld+json` when the Accept header prefers it. Updates and SERVICE are refused (400);
    a query past SPARQL_QUERY_TIMEOUT is stopped (504); too many running queries answer 429. A client
    that goes away stops its query.
    """
    query = await read_query(request)
    note_detail(request, query)
    answer = await _unless_client_leaves(
        request,
        services.sparql.query(space_id, query, request.headers.get("accept"), user=principal.username),
    )
    if answer is None:
        return Response(status_code=CLIENT_CLOSED_REQUEST)  # nobody reads it; for the access log
    return Response(answer.body, media_type=answer.media_type)


T = TypeVar("T")
CLIENT_CLOSED_REQUEST = 499


async def _unless_client_leaves(request: Request, work: Awaitable[T]) -> T | None:
    """`work`'s result, or None once the client has disconnected: the work is then cancelled (a
    running query's worker process is killed). Needs the request body to have been read."""
    outcome: list[tuple[bool, object]] = []
    async with anyio.create_task_group() as group:

        async def run() -> None:
            try:
                outcome.append((True, await work))
            except Exception as exc:
                outcome.append((False, exc))
            finally:
                group.cancel_scope.cancel()

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(run)
        group.start_soon(watch)
    if not outcome:
        return None
    succeeded, value = outcome[0]
    if not succeeded:
        assert isinstance(value, Exception)
        raise value
    return value  # type: ignore[return-value]


async def read_query(request: Request) -> str:
    body = bytearray()
    async for chunk in request_body(request):
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLargeError(f"SPARQL request body over {MAX_BODY} bytes")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("the SPARQL request body is not UTF-8") from None
    if media_type == "application/sparql-query":
        return text
    if media_type == "application/x-www-form-urlencoded":
        return _only_query(parse_qs(text).get("query"))
    if media_type == "application/json":
        data = parse_json(text)
        return _only_query([data.get("query")] if isinstance(data, dict) else None)
    raise InvalidInputError(
        f"unsupported Content-Type {media_type or '(none)'!r}: send application/sparql-query, "
        "or a 'query' field as application/x-www-form-urlencoded or application/json"
    )


def _only_query(values: list | None) -> str:
    if not values or len(values) != 1 or not isinstance(values[0], str):
        raise InvalidInputError("the request needs exactly one 'query' field holding the SPARQL text")
    return values[0]
