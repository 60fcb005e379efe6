"""Where backups go: a local directory, or `s3://bucket/prefix`. Either is opened as a blob store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from vitalgraph.blobs.base import BlobStore
from vitalgraph.config import Settings
from vitalgraph.errors import InvalidInputError


def open_target(location: str, settings: Settings, *, confine_to: Path | None = None) -> BlobStore:
    """A blob store over `location` (not yet opened). With `confine_to`, a local directory must lie
    inside it: the API lets admins name a folder, not write anywhere the server process may."""
    if location.startswith("s3://"):
        return _s3_target(location, settings)
    if "://" in location:
        raise InvalidInputError(f"backup location {location[:200]!r}: use a directory or s3://bucket/prefix")
    from vitalgraph.blobs.local import LocalBlobStore

    path = Path(location)
    if confine_to is not None:
        root = confine_to.resolve()
        path = (root / path).resolve()
        if path != root and root not in path.parents:
            raise InvalidInputError(
                f"backup location {location[:200]!r} is outside BACKUP_ROOT ({root}): "
                "give a folder inside it, or an s3:// location"
            )
    return LocalBlobStore(path, chunk_size=settings.STREAMING_CHUNK_SIZE)


def _s3_target(location: str, settings: Settings) -> BlobStore:
    from vitalgraph.blobs.s3 import S3BlobStore

    parts = urlsplit(location)
    if not parts.netloc:
        raise InvalidInputError(f"backup location {location[:200]!r} names no bucket")
    prefix = parts.path.strip("/")
    if ".." in prefix.split("/"):
        raise InvalidInputError(f"backup location {location[:200]!r} must not contain '..'")
    copy = settings.model_copy(update={"S3_BUCKET": parts.netloc, "S3_PREFIX": prefix})
    return S3BlobStore.from_settings(copy)
