"""Typed errors raised by the clients; every one carries the server's message and the HTTP status."""

from __future__ import annotations


class VitalGraphClientError(Exception):
    """Base of every error the clients raise.

    `detail` is the server's message (its `{"detail": ...}` body) or ours when no response came;
    `status_code` is the HTTP status, None when no response arrived.
    """

    def __init__(
        self, detail: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code
        self.retry_after = retry_after  # seconds, from the answer's Retry-After header when it had one

    def __str__(self) -> str:
        return f"{self.detail} (HTTP {self.status_code})" if self.status_code else self.detail


class InvalidRequestError(VitalGraphClientError):
    """The server rejected the request as malformed (HTTP 400 or 422)."""


class AuthenticationError(VitalGraphClientError):
    """Wrong username or password, or a missing, invalid or expired token (HTTP 401)."""


class PermissionDeniedError(VitalGraphClientError):
    """Authenticated, but not allowed (HTTP 403)."""


class NotFoundError(VitalGraphClientError):
    """Unknown space or file node, or a file node with no content yet (HTTP 404)."""


class ConflictError(VitalGraphClientError):
    """The space or object already exists (HTTP 409)."""


class ContentChangedError(ConflictError):
    """A file's content was replaced while it was being downloaded, so the parts do not belong together."""


class PreconditionFailedError(ConflictError):
    """`If-Match` named a version the file node has moved on from (HTTP 412): read it again, retry."""


class PayloadTooLargeError(VitalGraphClientError):
    """The upload is over the server's MAX_STREAMING_FILE_SIZE (HTTP 413)."""


class TooManyRequestsError(VitalGraphClientError):
    """Refused for now (HTTP 429), e.g. after repeated failed logins from this address, or with too many
    SPARQL queries of yours running; `retry_after` says how many seconds to wait."""


class ServerError(VitalGraphClientError):
    """The server failed (HTTP 5xx), e.g. its blob or graph store is unreachable (503)."""


class ServiceUnavailableError(ServerError):
    """The server cannot serve this now (HTTP 503): a store is unreachable, or it is shutting down;
    `retry_after` is set when the server said when to try again."""


class QueryTimeoutError(ServerError):
    """A SPARQL query ran past the server's time limit (SPARQL_QUERY_TIMEOUT) and was stopped (HTTP 504)."""


class NetworkError(VitalGraphClientError):
    """No usable response: connection refused, dropped or timed out (after any retries)."""


class ChecksumMismatchError(VitalGraphClientError):
    """The bytes received (or stored by the server) do not have the SHA-256 they should have."""

    def __init__(self, detail: str, *, expected: str, actual: str) -> None:
        super().__init__(detail)
        self.expected = expected
        self.actual = actual


class ClientConfigError(VitalGraphClientError, ValueError):
    """The client configuration (arguments, VITALGRAPH_CLIENT_* variables or config file) is invalid."""


ERROR_BY_STATUS: dict[int, type[VitalGraphClientError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    410: NotFoundError,  # gone for good, e.g. an expired resumable upload
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
    429: TooManyRequestsError,
    503: ServiceUnavailableError,
    504: QueryTimeoutError,
}


def error_for_status(status_code: int, detail: str, retry_after: str | None = None) -> VitalGraphClientError:
    """The typed error for an HTTP status; `retry_after` is the Retry-After header (seconds) if any."""
    default = ServerError if status_code >= 500 else VitalGraphClientError
    error_class = ERROR_BY_STATUS.get(status_code, default)
    return error_class(detail, status_code=status_code, retry_after=_seconds(retry_after))


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None  # an HTTP date: not worth parsing here
