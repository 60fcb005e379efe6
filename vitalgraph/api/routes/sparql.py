"""Read-only SPARQL 1.1 queries over a space's graphs."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import Response

from vitalgraph.api.access import ReadableSpaceInPath
from vitalgraph.api.deps import ServicesDep, request_body
from vitalgraph.errors import InvalidInputError, PayloadTooLargeError
from vitalgraph.services.sparql import MAX_QUERY_LENGTH

router = APIRouter(prefix="/api/graphs/sparql", tags=["sparql"])

MAX_BODY = 4 * MAX_QUERY_LENGTH  # room for form or JSON encoding around the longest query


@router.post(
    "/{space_id}/query",
    responses={200: {"content": {"application/sparql-results+json": {}, "application/n-triples": {}}}},
)
async def sparql_query(space_id: ReadableSpaceInPath, request: Request, services: ServicesDep) -> Response:
    """Body: the query as `application/sparql-query`, or a `query` field (form or JSON).

    SELECT / ASK → `application/sparql-results+json`. CONSTRUCT / DESCRIBE → `application/n-triples`,
    or `application/ld+json` when the Accept header prefers it. Updates and SERVICE are refused (400).
    """
    query = await read_query(request)
    answer = await services.sparql.query(space_id, query, request.headers.get("accept"))
    return Response(answer.body, media_type=answer.media_type)


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
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInputError(f"request body is not valid JSON: {exc}") from None
        return _only_query([data.get("query")] if isinstance(data, dict) else None)
    raise InvalidInputError(
        f"unsupported Content-Type {media_type or '(none)'!r}: send application/sparql-query, "
        "or a 'query' field as application/x-www-form-urlencoded or application/json"
    )


def _only_query(values: list | None) -> str:
    if not values or len(values) != 1 or not isinstance(values[0], str):
        raise InvalidInputError("the request needs exactly one 'query' field holding the SPARQL text")
    return values[0]
