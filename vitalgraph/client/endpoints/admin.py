"""`client.admin`: backup, restore and verify on the server (admins only). The server does the work, so
a backup's bytes never pass through the client; locations are as the server sees them."""

from __future__ import annotations

from typing import Any

from vitalgraph.client._requests import Call, query
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup


def _json(response: Any) -> dict:
    return response.json()


class AdminCalls:
    @staticmethod
    def backup(destination: str) -> Call[dict]:
        """Snapshot into a folder inside the server's BACKUP_ROOT, or s3://bucket/prefix; the report."""
        return Call("POST", "/api/admin/backup", _json, json={"destination": destination})

    @staticmethod
    def restore(source: str, spaces: list[str] | None = None, snapshot_id: str | None = None) -> Call[dict]:
        """Restore the newest (or the given) snapshot: everything into an empty server, or `spaces`."""
        body = {"source": source, "spaces": spaces, "snapshot_id": snapshot_id}
        return Call("POST", "/api/admin/restore", _json, json=body)

    @staticmethod
    def verify(orphan_min_age_seconds: float = 60) -> Call[dict]:
        """Every node against its blob; missing, corrupt and orphaned keys, and `ok`."""
        params = query(orphan_min_age_seconds=orphan_min_age_seconds)
        return Call("GET", "/api/admin/verify", _json, params=params)


class AsyncAdminEndpoint(AsyncEndpointGroup, calls=AdminCalls):
    """The group of AsyncVitalGraphClient: a method for each of AdminCalls."""


class AdminEndpoint(SyncEndpointGroup, calls=AdminCalls):
    """The group of VitalGraphClient: a method for each of AdminCalls."""
