"""`client.quotas`: usage and quotas of spaces and organizations (setting them: admins only)."""

from __future__ import annotations

from urllib.parse import quote

from vitalgraph.client._requests import Call
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup


def _json(response) -> dict:  # type: ignore[no-untyped-def]
    return response.json()


def _space(space_id: str) -> str:
    return f"/api/spaces/{quote(space_id, safe='')}"


def _organization(name: str) -> str:
    return f"/api/organizations/{quote(name, safe='')}"


class QuotaCalls:
    @staticmethod
    def space_usage(space_id: str) -> Call[dict]:
        """Bytes and files in the space, and what each quota that applies leaves."""
        return Call("GET", f"{_space(space_id)}/usage", _json)

    @staticmethod
    def set_space_quota(
        space_id: str, max_bytes: int | None = None, max_files: int | None = None
    ) -> Call[dict]:
        """Both None removes the quota."""
        return Call(
            "PUT", f"{_space(space_id)}/quota", _json, json={"max_bytes": max_bytes, "max_files": max_files}
        )

    @staticmethod
    def set_space_organization(space_id: str, organization: str | None) -> Call[dict]:
        return Call("PUT", f"{_space(space_id)}/organization", _json, json={"organization": organization})

    @staticmethod
    def organization_usage(organization: str) -> Call[dict]:
        return Call("GET", f"{_organization(organization)}/usage", _json)

    @staticmethod
    def set_organization_quota(
        organization: str, max_bytes: int | None = None, max_files: int | None = None
    ) -> Call[dict]:
        body = {"max_bytes": max_bytes, "max_files": max_files}
        return Call("PUT", f"{_organization(organization)}/quota", _json, json=body)


class AsyncQuotasEndpoint(AsyncEndpointGroup, calls=QuotaCalls):
    """The group of AsyncVitalGraphClient: a method for each of QuotaCalls."""


class QuotasEndpoint(SyncEndpointGroup, calls=QuotaCalls):
    """The group of VitalGraphClient: a method for each of QuotaCalls."""
