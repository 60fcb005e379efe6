"""The audit trail (admin only): filter by user, space, action and time; JSON, or JSON lines to export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from vitalgraph.api.access import AdminDep
from vitalgraph.api.deps import ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute
from vitalgraph.services.audit import MAX_QUERY_LIMIT, AuditQuery, json_lines

router = APIRouter(prefix="/api/audit", tags=["audit"], route_class=BoundedBodyRoute)


class AuditEntryOut(BaseModel):
    time: datetime
    actor: str
    action: str
    outcome: str
    status: int
    client: str
    space_id: str | None
    target: str | None
    detail: str | None
    request_id: str | None


class AuditEntries(BaseModel):
    entries: list[AuditEntryOut]
    total_count: int


@router.get(
    "",
    response_model=AuditEntries,
    summary="Read the audit trail",
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def read_audit_trail(
    services: ServicesDep,
    _: AdminDep,
    user: Annotated[str | None, Query(max_length=64, description="entries by this username")] = None,
    space_id: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="an action or its prefix, e.g. `file.` or `auth.login`")
    ] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_QUERY_LIMIT)] = 1000,
    format: Annotated[Literal["json", "jsonl"], Query(description="jsonl: one entry per line")] = "json",
):
    """Logins (success and failure), token, user and grant changes, space creation and deletion, file
    uploads, downloads, deletes and copies, and SPARQL queries: who, what, when, from which address and
    how it ended, oldest first. Nothing in the API can change or remove an entry."""
    query = AuditQuery(user=user, space_id=space_id, action=action, since=since, until=until, limit=limit)
    entries = await services.audit.query(query)
    if format == "jsonl":
        return StreamingResponse(json_lines(entries), media_type="application/x-ndjson")
    return AuditEntries(
        entries=[AuditEntryOut(**entry.to_json()) for entry in entries], total_count=len(entries)
    )
