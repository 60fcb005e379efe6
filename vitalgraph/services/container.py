"""Builds the services from settings. The HTTP API and the mock client both use this one entry point."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vitalgraph.blobs import BlobStore, create_blob_store
from vitalgraph.config import Settings
from vitalgraph.graph import GraphStore, create_graph_store
from vitalgraph.services.auth import AuthService, load_or_create_secrets
from vitalgraph.services.files import FileService
from vitalgraph.services.spaces import SpaceService

logger = logging.getLogger("vitalgraph")


@dataclass
class Services:
    settings: Settings
    graph: GraphStore
    blobs: BlobStore
    spaces: SpaceService
    files: FileService
    auth: AuthService
    generated_admin_password: str | None = None

    @classmethod
    async def start(cls, settings: Settings) -> "Services":
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        graph = create_graph_store(settings)
        blobs = create_blob_store(settings)
        await graph.open()
        try:
            await blobs.open()
        except BaseException:
            await graph.close()
            raise
        secrets = load_or_create_secrets(settings.DATA_DIR, settings.ADMIN_PASSWORD, settings.JWT_SECRET)
        spaces = SpaceService(graph, blobs)
        files = FileService(
            graph,
            blobs,
            spaces,
            max_upload_size=settings.max_upload_size,
            log_every_mib=settings.TRANSFER_LOG_EVERY_MIB,
        )
        auth = AuthService(
            admin_username=settings.ADMIN_USERNAME,
            admin_password_hash=secrets.admin_password_hash,
            jwt_secret=secrets.jwt_secret,
            access_ttl=settings.ACCESS_TOKEN_TTL_SECONDS,
            refresh_ttl=settings.REFRESH_TOKEN_TTL_SECONDS,
        )
        services = cls(settings, graph, blobs, spaces, files, auth, secrets.admin_password)
        removed = await blobs.clean_staging(settings.STALE_UPLOAD_SECONDS)
        if removed:
            logger.info("removed %d unfinished uploads older than %ss", removed, settings.STALE_UPLOAD_SECONDS)
        return services

    async def stop(self) -> None:
        try:
            await self.blobs.close()
        finally:
            await self.graph.close()
