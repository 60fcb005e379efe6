"""The S3 blob store: a client session, one multipart writer, reads and ranges, resumable uploads."""

from vitalgraph.blobs.s3.store import S3BlobStore

__all__ = ["S3BlobStore"]
