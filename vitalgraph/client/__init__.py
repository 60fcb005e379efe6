"""VitalGraph clients: AsyncVitalGraphClient and VitalGraphClient (one design, two I/O styles),
their settings, typed replies and errors. The in-process mocks need the server, so they live
outside this package, in `vitalgraph.mock`.

Names load on first use, so `vitalgraph` commands that never call a server do not import httpx/aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "vitalgraph.client.async_client": ["AsyncVitalGraphClient"],
    "vitalgraph.client.sync_client": ["VitalGraphClient"],
    "vitalgraph.client.config": ["ClientConfig"],
    "vitalgraph.client.errors": [
        "AuthenticationError",
        "ChecksumMismatchError",
        "ClientConfigError",
        "ConflictError",
        "ContentChangedError",
        "InvalidRequestError",
        "NetworkError",
        "NotFoundError",
        "PayloadTooLargeError",
        "PermissionDeniedError",
        "PreconditionFailedError",
        "QueryTimeoutError",
        "ServerError",
        "ServiceUnavailableError",
        "TooManyRequestsError",
        "VitalGraphClientError",
    ],
    "vitalgraph.client.models": [
        "ApiToken",
        "ApiTokenCreated",
        "ApiTokenList",
        "ContentInfo",
        "DownloadResult",
        "FileAttached",
        "FileDetached",
        "FileList",
        "FileVersion",
        "FileVersionList",
        "FilesCreated",
        "FilesDeleted",
        "FilesUpdated",
        "GraphInfo",
        "Grant",
        "GrantList",
        "KGEntitiesDeleted",
        "KGEntityGraph",
        "KGEntityList",
        "KGTypeList",
        "ObjectList",
        "ObjectsCreated",
        "ObjectsDeleted",
        "ObjectsUpdated",
        "PresignedUrl",
        "Space",
        "SpaceDeleted",
        "SpaceList",
        "SparqlResults",
        "UploadResult",
        "User",
        "UserList",
    ],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'vitalgraph.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from vitalgraph.client.async_client import AsyncVitalGraphClient
    from vitalgraph.client.config import ClientConfig
    from vitalgraph.client.errors import (
        AuthenticationError,
        ChecksumMismatchError,
        ClientConfigError,
        ConflictError,
        ContentChangedError,
        InvalidRequestError,
        NetworkError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        PreconditionFailedError,
        QueryTimeoutError,
        ServerError,
        ServiceUnavailableError,
        TooManyRequestsError,
        VitalGraphClientError,
    )
    from vitalgraph.client.models import (
        ApiToken,
        ApiTokenCreated,
        ApiTokenList,
        ContentInfo,
        DownloadResult,
        FileAttached,
        FileDetached,
        FileList,
        FilesCreated,
        FilesDeleted,
        FilesUpdated,
        FileVersion,
        FileVersionList,
        Grant,
        GrantList,
        GraphInfo,
        KGEntitiesDeleted,
        KGEntityGraph,
        KGEntityList,
        KGTypeList,
        ObjectList,
        ObjectsCreated,
        ObjectsDeleted,
        ObjectsUpdated,
        PresignedUrl,
        Space,
        SpaceDeleted,
        SpaceList,
        SparqlResults,
        UploadResult,
        User,
        UserList,
    )
    from vitalgraph.client.sync_client import VitalGraphClient
