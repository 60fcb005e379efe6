"""The one place where service errors become HTTP statuses. Every error body is {"detail": "..."}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vitalgraph import errors

logger = logging.getLogger("vitalgraph.api")

STATUS_BY_ERROR: dict[type[errors.VitalGraphError], int] = {
    errors.InvalidInputError: 400,
    errors.UploadIncompleteError: 400,
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.NotFoundError: 404,
    errors.GoneError: 410,
    errors.RequestTimeoutError: 408,
    errors.PreconditionFailedError: 412,
    errors.UnsupportedMediaTypeError: 415,
    errors.ChecksumMismatchError: 460,  # tus checksum extension: "Checksum Mismatch"
    errors.ConflictError: 409,
    errors.PayloadTooLargeError: 413,
    errors.QuotaExceededError: 507,
    errors.RangeNotSatisfiableError: 416,
    errors.TooManyRequestsError: 429,
    errors.StorageUnavailableError: 503,
    errors.QueryTimeoutError: 504,
    errors.ServerShuttingDownError: 503,
}


def status_for(exc: errors.VitalGraphError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_response(exc: errors.VitalGraphError) -> JSONResponse:
    status = status_for(exc)
    headers = {}
    if isinstance(exc, errors.AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, (errors.ServerShuttingDownError, errors.RequestTimeoutError)):
        headers["Connection"] = "close"  # the rest of the body, if it ever comes, is not read
    if isinstance(exc, errors.ServerShuttingDownError):
        headers["Retry-After"] = "1"
    if isinstance(exc, errors.TooManyRequestsError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.RangeNotSatisfiableError):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if status >= 500:
        logger.error("%s: %s", type(exc).__name__, exc)
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = [str(p) for p in error.get("loc", ())]
        kind = where[0] if where else "request"
        name = ".".join(where[1:]) or kind
        noun = {
            "query": "query parameter",
            "path": "path parameter",
            "header": "header",
            "body": "body field",
        }
        problems.append(f"{noun.get(kind, kind)} '{name}': {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


def _count(request: Request, exc: Exception, status: int) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.count_error(type(exc).__name__, status)


def install_error_handlers(app: FastAPI) -> None:
    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.VitalGraphError)
        response = error_response(exc)
        _count(request, exc, response.status_code)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        _count(request, exc, 422)
        return JSONResponse({"detail": _describe_validation(exc)}, status_code=422)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        _count(request, exc, exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(errors.VitalGraphError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
