"""Which requests the audit trail records, and the middleware that records them once they are answered.

One table names the audited routes, so a new route is audited by adding a line here. Who the caller
was comes from the authentication dependency (`note_actor`), or from the login route for a login;
the space, URI and other details from the request's parameters, or from `note_detail` in a route.
Failures are recorded as well as successes: a refused login or download is what an auditor looks for.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitalgraph.logs import request_id_var
from vitalgraph.services.audit import AuditEntry, AuditLog

AUDITED: dict[tuple[str, str], str] = {
    ("POST", "/api/login"): "auth.login",
    ("POST", "/api/refresh"): "auth.refresh",
    ("POST", "/api/logout"): "auth.logout",
    ("POST", "/api/tokens"): "token.create",
    ("DELETE", "/api/tokens/{token_id}"): "token.revoke",
    ("POST", "/api/users"): "user.create",
    ("PATCH", "/api/users/{username}"): "user.update",
    ("DELETE", "/api/users/{username}"): "user.delete",
    ("PUT", "/api/spaces/{space_id}/grants/{username}"): "grant.set",
    ("DELETE", "/api/spaces/{space_id}/grants/{username}"): "grant.revoke",
    ("POST", "/api/spaces"): "space.create",
    ("DELETE", "/api/spaces/{space_id}"): "space.delete",
    ("PUT", "/api/files"): "file.update",
    ("DELETE", "/api/files"): "file.delete",
    ("PUT", "/api/files/stream/upload"): "file.upload",
    ("POST", "/api/files/stream/upload"): "file.upload",
    ("POST", "/api/files/upload"): "file.upload",
    ("POST", "/api/files/tus"): "file.upload.begin",
    ("POST", "/api/files/tus/"): "file.upload.begin",
    ("PATCH", "/api/files/tus/{upload_id}"): "file.upload.part",
    ("DELETE", "/api/files/tus/{upload_id}"): "file.upload.cancel",
    ("POST", "/api/files/copy"): "file.copy",
    ("GET", "/api/files/stream/download"): "file.download",
    ("GET", "/api/files/download"): "file.download",
    ("GET", "/api/files/presigned"): "file.download.presign",
    ("POST", "/api/graphs/sparql/{space_id}/query"): "sparql.query",
    ("POST", "/api/graphs/sparql/query"): "sparql.query",
    ("GET", "/api/graphs/sparql/query"): "sparql.query",
    ("GET", "/api/audit"): "audit.read",
    ("PUT", "/api/spaces/{space_id}/quota"): "quota.set",
    ("PUT", "/api/spaces/{space_id}/organization"): "quota.organization",
    ("PUT", "/api/organizations/{organization}/quota"): "quota.set",
    ("POST", "/api/admin/backup"): "admin.backup",
    ("POST", "/api/admin/restore"): "admin.restore",
    ("GET", "/api/admin/verify"): "admin.verify",
}
_ACTOR = "vitalgraph.audit.actor"
_DETAIL = "vitalgraph.audit.detail"


def note_actor(request: Request, username: str) -> None:
    """Who is making this request (set once the caller is known, or claimed, as on a login)."""
    request.scope.setdefault("state", {})[_ACTOR] = username


def note_detail(request: Request, detail: str) -> None:
    """What the request did beyond its parameters, e.g. a SPARQL query's text."""
    request.scope.setdefault("state", {})[_DETAIL] = detail


class AuditMiddleware:
    """Records each audited request after its response has started, with the status as outcome."""

    def __init__(self, app: ASGIApp, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            action = AUDITED.get((scope.get("method", ""), getattr(scope.get("route"), "path", "")))
            if action is not None:
                self.log.record(_entry(scope, action, status or 500))


def _entry(scope: Scope, action: str, status: int) -> AuditEntry:
    state = scope.get("state") or {}
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    path_params = scope.get("path_params") or {}
    space_id = path_params.get("space_id") or _first(params, "space_id")
    target = _first(params, "uri") or path_params.get("username") or path_params.get("token_id")
    target = target or path_params.get("upload_id")
    client = scope.get("client")
    return AuditEntry(
        time=datetime.fromtimestamp(time.time(), tz=UTC),
        actor=state.get(_ACTOR) or "anonymous",
        action=action,
        outcome="success" if status < 400 else "failure",
        status=status,
        client=client[0] if client else "unknown",
        space_id=space_id,
        target=target,
        detail=state.get(_DETAIL),
        request_id=request_id_var.get(None),
    )


def _first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None
