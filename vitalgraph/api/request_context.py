"""Pure ASGI middleware: a request id for every request, its duration, and a JSON 500 for any crash.

Pure ASGI (not BaseHTTPMiddleware) so streamed bodies pass straight through, message by message.
The id comes from the client's X-Request-ID when it is a sane token, else a fresh uuid; it goes back
in the response and into every log record written while the request runs (see vitalgraph.logs).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitalgraph.api.metrics import Metrics
from vitalgraph.logs import request_id_var

logger = logging.getLogger("vitalgraph.api")
REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if _SANE_ID.match(value) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            self.metrics.count_error(type(exc).__name__, 500)
            if status:  # headers are out: all we can do is cut the connection
                raise
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            await _send_internal_error(send_with_id, request_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.request_duration.labels(scope.get("method", ""), route, str(status or 500)).observe(
                time.perf_counter() - started
            )
            request_id_var.reset(token)


async def _send_internal_error(send: Send, request_id: str) -> None:
    body = json.dumps({"detail": f"internal server error (request id {request_id})"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
