"""Blob stores: where file bytes live (local directory or S3)."""

from __future__ import annotations

from vitalgraph.blobs.base import BlobStat, BlobStore, WrittenBlob
from vitalgraph.config import Settings

__all__ = ["BlobStat", "BlobStore", "WrittenBlob", "create_blob_store"]


def create_blob_store(settings: Settings) -> BlobStore:
    if settings.BLOB_BACKEND == "s3":
        from vitalgraph.blobs.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    from vitalgraph.blobs.local import LocalBlobStore

    return LocalBlobStore.from_settings(settings)
