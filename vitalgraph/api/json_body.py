"""Every JSON request body is read here, within two limits: its size and how deeply it nests.

Routes that take JSON-LD call `read_json` / `read_graph_objects`; routes whose body is a pydantic
model or a form are declared on routers with `route_class=BoundedBodyRoute`, which reads and checks
the body before FastAPI parses it (FastAPI would otherwise turn every failure into one vague 400, and
wait for a body that never comes forever). A body
over a limit is refused with 413 (size) or 400 (depth) naming the limit, never a 500: the depth is
measured without recursion, and the recursion of the JSON decoder itself is caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from vitalgraph.api.deps import declared_length, request_body
from vitalgraph.errors import InvalidInputError, PayloadTooLargeError
from vitalgraph.model import GraphObject
from vitalgraph.model.quad_model import QUADS_MEDIA_TYPE, is_quad_request, read_quad_request

MAX_JSON_BODY_BYTES = 32 * 1024 * 1024
# Levels of arrays and objects. JSON-LD needs a handful (@graph, a node, a value list, a value object);
# every embedded node adds two. Deep enough for any real document, shallow enough that nothing that
# walks a document recursively (the JSON-LD reader, pydantic) can run out of stack.
MAX_JSON_DEPTH = 64


def parse_json(body: bytes | str) -> Any:
    """The JSON document in `body`; InvalidInputError naming the problem or the depth limit."""
    try:
        document = json.loads(body)
    except RecursionError:  # the decoder recurses once per level
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"request body is not valid JSON: {exc}") from None
    if json_depth(document) > MAX_JSON_DEPTH:
        raise _too_deep()
    return document


def json_depth(document: Any) -> int:
    """How many arrays and objects deep `document` nests (a scalar: 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth  # no need to walk the rest
        pending.extend((child, depth) for child in children)
    return deepest


def _too_deep() -> InvalidInputError:
    return InvalidInputError(f"JSON body nested too deeply: more than {MAX_JSON_DEPTH} levels (the limit)")


def _too_large() -> PayloadTooLargeError:
    return PayloadTooLargeError(f"JSON body over {MAX_JSON_BODY_BYTES} bytes (the limit)")


async def read_bounded_body(request: Request) -> bytes:
    """The body, refused (413) as soon as it exceeds MAX_JSON_BODY_BYTES, declared or sent."""
    size = declared_length(request)
    if size is not None and size > MAX_JSON_BODY_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request_body(request):
        body += chunk
        if len(body) > MAX_JSON_BODY_BYTES:
            raise _too_large()
    return bytes(body)


async def read_json(request: Request) -> Any:
    return parse_json(await read_bounded_body(request))


async def read_graph_objects(request: Request) -> list[GraphObject]:
    """JSON-LD, or the older client's JSON quads (`{"quads": [...]}`, see api/wire.py)."""
    document = await read_json(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == QUADS_MEDIA_TYPE or is_quad_request(document):
        return read_quad_request(document)
    if not isinstance(document, (dict, list)):  # from_jsonld would take a string for JSON text to parse
        raise InvalidInputError(f"JSON-LD must be an object or an array, got {type(document).__name__}")
    return GraphObject.from_jsonld(document)


# A route's body as graph objects; declared after the space guard, so the caller is checked first.
GraphObjects = Annotated[list[GraphObject], Depends(read_graph_objects)]


class _BodyReadRequest(Request):
    """A request whose body was read through `read_bounded_body` (size limit, idle timeout) and, when it
    is JSON, parsed within the depth limit; FastAPI then reads both from here."""

    def __init__(self, request: Request, body: bytes) -> None:
        super().__init__(request.scope, request.receive)
        self._body = body  # Starlette's own cache: body(), stream() and form() all read it from here
        self._document: Any = None
        if body and _is_json(request.headers.get("content-type")):
            self._document = parse_json(body)

    async def json(self) -> Any:
        return self._document


class BoundedBodyRoute(APIRoute):
    """A route whose model or form body FastAPI reads only after it came in within the limits above:
    at most MAX_JSON_BODY_BYTES, no pause longer than TRANSFER_IDLE_TIMEOUT_SECONDS (408), and JSON
    no deeper than MAX_JSON_DEPTH. FastAPI parses a body as JSON when it has no Content-Type or a
    JSON one; so does this."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def run(request: Request) -> Response:
            return await handler(_BodyReadRequest(request, await read_bounded_body(request)))

        return run


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
