"""`client.audit`: read the server's audit trail (admins only)."""

from __future__ import annotations

from datetime import datetime

from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import AuditEntries


class AuditCalls:
    @staticmethod
    def list_entries(
        *,
        user: str | None = None,
        space_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> Call[AuditEntries]:
        """Entries matching every filter given, oldest first; `action` may be a prefix such as "file."."""
        params = query(
            user=user,
            space_id=space_id,
            action=action,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            limit=limit,
        )
        return Call("GET", "/api/audit", model_reply(AuditEntries), params=params)


class AsyncAuditEndpoint(AsyncEndpointGroup, calls=AuditCalls):
    """The group of AsyncVitalGraphClient: a method for each of AuditCalls."""


class AuditEndpoint(SyncEndpointGroup, calls=AuditCalls):
    """The group of VitalGraphClient: a method for each of AuditCalls."""
