"""Short-lived download links: a URL a browser's download manager can fetch (and resume) without a token.

On S3 the link is a presigned S3 URL. On a store that cannot presign (the local directory) the server
signs its own: a JWT, under a key derived from the server's secret and used for nothing else, naming
the user, the space, the graph, the file node and the content's SHA-256. When the link is used the
server checks the signature and the expiry, that the user still may read the space, and that the node
still holds that exact content; so a link never outlives its life, a revoked grant, or a replaced file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from vitalgraph.blobs.base import PresigningBlobStore
from vitalgraph.errors import GoneError, NotFoundError, PermissionDeniedError
from vitalgraph.services.access import AccessService, Permission
from vitalgraph.services.auth import Principal
from vitalgraph.services.files import DEFAULT_GRAPH_ID, FileContent, FileService, PresignedDownload

_ALGORITHM = "HS256"
_PURPOSE = b"vitalgraph download links v1"
_TYPE = "download-link"


class _Utf8Json(json.JSONEncoder):
    """Claims as UTF-8, not \\u escapes: a URI of MAX_URI_LENGTH bytes in 4-byte characters would
    otherwise triple in the token and overflow the link's length limit."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "ensure_ascii": False})


@dataclass(frozen=True)
class SignedLink:
    """A link the server signed itself: `token` goes into the URL of the signed-download route."""

    token: str
    expires_in: int
    expires_at: datetime
    size: int
    sha256: str


class DownloadLinkService:
    def __init__(self, files: FileService, access: AccessService, secret: str) -> None:
        self.files = files
        self.access = access
        # A key of its own: a link can never be taken for an access token, nor the reverse.
        self._key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).hexdigest()

    @property
    def store_presigns(self) -> bool:
        return isinstance(self.files.blobs, PresigningBlobStore)

    async def issue(
        self, principal: Principal, space_id: str, graph_id: str | None, uri: str, expires_seconds: int
    ) -> PresignedDownload | SignedLink:
        """A presigned store URL when the blob store can make one, else a link signed here.

        The caller's read permission on the space is checked by the route before this is called."""
        if self.store_presigns:
            return await self.files.presign_download(space_id, graph_id, uri, expires_seconds)
        content = await self.files.open_content(space_id, graph_id, uri)  # 404: no node, no content
        await content.close()  # only its SHA-256 is needed here
        now = int(time.time())
        claims = {
            "typ": _TYPE,
            "sub": principal.username,
            "space": space_id,
            "graph": graph_id or DEFAULT_GRAPH_ID,
            "uri": uri,
            "sha256": content.sha256,
            "iat": now,
            "exp": now + expires_seconds,
        }
        return SignedLink(
            token=jwt.encode(claims, self._key, algorithm=_ALGORITHM, json_encoder=_Utf8Json),
            expires_in=expires_seconds,
            expires_at=datetime.fromtimestamp(now + expires_seconds, UTC),
            size=content.size,
            sha256=content.sha256,
        )

    async def open(self, token: str) -> FileContent:
        """The content a link names. 403 for a forged or foreign link or a user who lost read
        access, 410 once it expired or the file's content changed, 404 if the node is gone."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                options={"require": ["exp", "sub", "space", "graph", "uri", "sha256", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise GoneError("this download link has expired: ask for a new one") from None
        except jwt.InvalidTokenError:
            raise PermissionDeniedError("invalid download link (bad signature or malformed)") from None
        if claims["typ"] != _TYPE:
            raise PermissionDeniedError("invalid download link (not a download link)")
        principal = await self._principal(claims["sub"])
        await self.access.check_space(principal, claims["space"], Permission.READ)
        content = await self.files.open_content(claims["space"], claims["graph"], claims["uri"])
        if content.sha256 != claims["sha256"]:
            await content.close()
            raise GoneError("the file's content changed after this download link was made: ask for a new one")
        return content

    async def _principal(self, username: str) -> Principal:
        try:
            user = await self.access.auth.get_user(username)
        except NotFoundError:
            raise PermissionDeniedError("download link revoked: its user no longer exists") from None
        return Principal(user.username, user.role)
