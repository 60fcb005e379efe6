"""Typed errors every layer raises; `vitalgraph.api.errors` maps them to HTTP statuses in one place."""

from __future__ import annotations


class VitalGraphError(Exception):
    """Base of every error the services raise on purpose. `str(err)` is the user-facing message."""


class InvalidInputError(VitalGraphError):
    """The request is malformed: bad JSON-LD, bad multipart body, bad parameter (HTTP 400)."""


class AuthenticationError(VitalGraphError):
    """Missing, expired or wrong credentials (HTTP 401)."""


class PermissionDeniedError(VitalGraphError):
    """Authenticated, but not allowed to do this (HTTP 403)."""


class NotFoundError(VitalGraphError):
    """A space, file node or other object does not exist (HTTP 404)."""


class ConflictError(VitalGraphError):
    """The object already exists or was changed concurrently (HTTP 409)."""


class PayloadTooLargeError(VitalGraphError):
    """An upload is over MAX_STREAMING_FILE_SIZE (HTTP 413)."""


class RangeNotSatisfiableError(VitalGraphError):
    """No requested byte range overlaps the content (HTTP 416)."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class RequestTimeoutError(VitalGraphError):
    """The client stopped sending the request body and did not go away (HTTP 408)."""


class TooManyRequestsError(VitalGraphError):
    """The caller must wait `retry_after` seconds, e.g. after repeated failed logins (HTTP 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UploadIncompleteError(VitalGraphError):
    """The client sent fewer bytes than it announced or went away mid-upload (HTTP 400)."""


class FeatureDisabledError(NotFoundError):
    """A feature this server has switched off or its backend cannot offer, e.g. presigned URLs on the
    local blob store or the streaming routes with STREAMING_ENABLED=false (HTTP 404, like a missing route)."""


class GoneError(NotFoundError):
    """The object existed but is gone for good, e.g. an expired resumable upload (HTTP 410)."""


class PreconditionFailedError(VitalGraphError):
    """A protocol precondition is not met, e.g. an unsupported Tus-Resumable version (HTTP 412)."""


class UnsupportedMediaTypeError(VitalGraphError):
    """The body has a Content-Type this route does not take (HTTP 415)."""


class ChecksumMismatchError(VitalGraphError):
    """A chunk's bytes do not match the checksum the client sent with them (HTTP 460, tus checksum)."""


class StorageUnavailableError(VitalGraphError):
    """A backing store (blob or graph) is unreachable or failing (HTTP 503)."""


class QueryTimeoutError(VitalGraphError):
    """A query ran past its time limit (SPARQL_QUERY_TIMEOUT) and was stopped; no rows are sent (HTTP 504)."""


class ServerShuttingDownError(VitalGraphError):
    """The server is stopping; the request was refused or aborted and may be retried (HTTP 503)."""


class QuotaExceededError(VitalGraphError):
    """A change would take a space or an organization past its quota of bytes or files (HTTP 507)."""
