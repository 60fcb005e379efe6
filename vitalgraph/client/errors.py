"""Typed errors raised by the clients; every one carries the server's message and the HTTP status."""

from __future__ import annotations


class VitalGraphClientError(Exception):
    """Base of every error the clients raise.

    `detail` is the server's message (its `{"detail": ...}` body) or ours when no response came;
    `status_code` is the HTTP status, None when no response arrived.
    """

    def __init__(self, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code

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
    """Refused for now, e.g. after repeated failed logins from this address (HTTP 429); the detail says
    how many seconds to wait."""


class ServerError(VitalGraphClientError):
    """The server failed (HTTP 5xx), e.g. its blob or graph store is unreachable (503)."""


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
}


def error_for_status(status_code: int, detail: str) -> VitalGraphClientError:
    default = ServerError if status_code >= 500 else VitalGraphClientError
    return ERROR_BY_STATUS.get(status_code, default)(detail, status_code=status_code)
