"""Builds the services from settings. The HTTP API and the mock client both use this one entry point."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from vitalgraph import tracing
from vitalgraph.blobs import BlobStore, create_blob_store
from vitalgraph.config import Settings
from vitalgraph.graph import GraphStore, create_graph_store
from vitalgraph.services.access import AccessService
from vitalgraph.services.accounts import AccountStore
from vitalgraph.services.audit import AuditLog
from vitalgraph.services.auth import AuthService, load_or_create_secrets
from vitalgraph.services.blob_release import BlobReleaser
from vitalgraph.services.direct_uploads import DirectUploadService
from vitalgraph.services.download_links import DownloadLinkService
from vitalgraph.services.files import FileService
from vitalgraph.services.graphs import GraphService, ObjectService, TripleService
from vitalgraph.services.kgentities import KGEntityService
from vitalgraph.services.kgframes import KGFrameService
from vitalgraph.services.kgtypes import KGTypeService
from vitalgraph.services.login_throttle import LoginThrottle
from vitalgraph.services.maintenance import GcReport, Maintenance
from vitalgraph.services.migrations import migrate
from vitalgraph.services.quotas import QuotaService
from vitalgraph.services.spaces import SpaceService
from vitalgraph.services.sparql import QueryLimits, SparqlService
from vitalgraph.services.tus import TusService
from vitalgraph.services.upload_locks import GraphUploadLocks

logger = logging.getLogger("vitalgraph")
# The stores' primitives: every other store method goes through these, so each call gets one span.
GRAPH_CALLS = ("select", "construct", "update", "query_json", "query_triples")
BLOB_CALLS = (
    "write",
    "read",
    "stat",
    "delete",
    "delete_prefix",
    "presign_download",
    "open_pinned",
    "copy",
    "begin_upload",
    "append_upload",
    "finish_upload",
    "terminate_upload",
)


async def _cancel_space_uploads(files: FileService, space_uid: str) -> None:
    files.cancel_uploads(lambda target: target[0] == space_uid)


@dataclass
class Services:
    settings: Settings
    graph: GraphStore
    blobs: BlobStore
    spaces: SpaceService
    files: FileService
    auth: AuthService
    maintenance: Maintenance
    kgtypes: KGTypeService
    kgentities: KGEntityService
    kgframes: KGFrameService
    sparql: SparqlService
    access: AccessService
    tus: TusService
    graphs: GraphService
    objects: ObjectService
    triples: TripleService
    links: DownloadLinkService
    audit: AuditLog
    quotas: QuotaService
    direct: DirectUploadService
    generated_admin_password: str | None = None
    _stopped: bool = field(default=False, init=False, repr=False)

    @classmethod
    async def start(cls, settings: Settings, *, collect_garbage: bool = True) -> Services:
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        graph = create_graph_store(settings)
        blobs = create_blob_store(settings)
        if tracing.enabled():
            tracing.instrument(graph, "graph", GRAPH_CALLS)
            tracing.instrument(blobs, "blobs", BLOB_CALLS)
        await graph.open()
        try:
            await blobs.open()
        except BaseException:
            await graph.close()
            raise
        try:
            applied = await migrate(graph, blobs, settings.DATA_DIR)
        except BaseException:
            await blobs.close()
            await graph.close()
            raise
        for step in applied:
            logger.info("store migrated to %s", step)
        secrets = load_or_create_secrets(settings.DATA_DIR, settings.ADMIN_PASSWORD, settings.JWT_SECRET)
        spaces = SpaceService(graph, blobs)
        quotas = QuotaService(graph, spaces)
        # the one path that releases shared blobs, for uploads, deletes and gc alike
        releaser = BlobReleaser(blobs, graph, claim_ttl_seconds=settings.BLOB_CLAIM_TTL_SECONDS)
        files = FileService(
            graph,
            blobs,
            spaces,
            max_upload_size=settings.max_upload_size,
            log_every_mib=settings.TRANSFER_LOG_EVERY_MIB,
            public_base_url=settings.PUBLIC_BASE_URL,
            quotas=quotas,
            versions_kept=settings.FILE_VERSIONS_KEPT,
            releaser=releaser,
        )
        auth = AuthService(
            admin_username=settings.ADMIN_USERNAME,
            admin_password_hash=secrets.admin_password_hash,
            jwt_secret=secrets.jwt_secret,
            access_ttl=settings.ACCESS_TOKEN_TTL_SECONDS,
            refresh_ttl=settings.REFRESH_TOKEN_TTL_SECONDS,
            accounts=AccountStore(graph),
            login_throttle=LoginThrottle(
                graph, settings.LOGIN_MAX_FAILURES, settings.LOGIN_FAILURE_WINDOW_SECONDS
            ),
        )
        tus = TusService(
            files,
            blobs,
            max_size=settings.max_upload_size,
            expiry_seconds=settings.TUS_UPLOAD_EXPIRY_SECONDS,
            locks=GraphUploadLocks(graph),
            max_uploads_per_user=settings.TUS_MAX_UPLOADS_PER_USER,
            max_bytes_per_user=settings.TUS_MAX_BYTES_PER_USER,
        )
        stale = settings.STALE_UPLOAD_SECONDS  # gc aborts any multipart upload older than this
        direct = DirectUploadService(
            files,
            blobs,
            enabled=settings.DIRECT_UPLOADS_ENABLED,
            expiry_seconds=min(settings.DIRECT_UPLOAD_EXPIRY_SECONDS, stale)
            if stale
            else settings.DIRECT_UPLOAD_EXPIRY_SECONDS,
        )
        maintenance = Maintenance(
            graph,
            blobs,
            expire_resumable=tus.remove_expired,
            expire_direct=direct.remove_expired,
            releaser=releaser,
        )
        access = AccessService(auth.accounts, auth, spaces)
        tus.authorize = access.check_user_may_write
        direct.authorize = access.check_user_may_write
        spaces.on_deleted.append(lambda space: tus.drop_uploads_into(space.space_id))
        spaces.on_deleted.append(lambda space: _cancel_space_uploads(files, space.uid))
        files.on_node_deleted.append(tus.drop_uploads_into)
        kgentities = KGEntityService(graph, spaces, files)
        services = cls(
            settings,
            graph,
            blobs,
            spaces,
            files,
            auth,
            maintenance,
            kgtypes=KGTypeService(graph, spaces),
            kgentities=kgentities,
            kgframes=KGFrameService(kgentities),
            sparql=SparqlService(
                graph,
                spaces,
                QueryLimits(settings.SPARQL_MAX_QUERIES_PER_USER, settings.SPARQL_MAX_QUERIES),
            ),
            access=access,
            tus=tus,
            graphs=GraphService(graph, spaces),
            objects=ObjectService(graph, spaces),
            triples=TripleService(graph, spaces),
            links=DownloadLinkService(files, access, secrets.jwt_secret),
            audit=AuditLog(graph, settings.AUDIT_FLUSH_SECONDS),
            quotas=quotas,
            direct=direct,
            generated_admin_password=secrets.admin_password,
        )
        await services.audit.start()
        if collect_garbage:
            await services.collect_garbage()
        return services

    async def collect_garbage(self) -> GcReport:
        return await self.maintenance.collect_garbage(**self.gc_ages)

    @property
    def gc_ages(self) -> dict[str, float]:
        return {
            "stale_upload_seconds": self.settings.STALE_UPLOAD_SECONDS,
            "orphan_min_age_seconds": self.settings.ORPHAN_MIN_AGE_SECONDS,
        }

    async def stop(self) -> None:
        """Close both stores; calling it again does nothing."""
        if self._stopped:
            return
        self._stopped = True
        try:
            await self.audit.stop()  # its last entries go to the graph store before that closes
            await self.blobs.close()
        finally:
            await self.graph.close()
