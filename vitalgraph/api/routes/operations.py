"""Operations endpoints, unauthenticated: liveness, readiness (both stores) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from vitalgraph.api.deps import ServicesDep, bearer_token
from vitalgraph.errors import AuthenticationError, NotFoundError, StorageUnavailableError
from vitalgraph.services.container import Services

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict:
    """Liveness: the process answers. It does not look at the stores (that is /ready)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "a store failed its check, or the server is stopping"}})
async def ready(request: Request, services: ServicesDep) -> JSONResponse:
    """Readiness: the blob store and the graph store each answer a cheap check."""
    body, ok = await readiness(request, services)
    return JSONResponse(body, status_code=200 if ok else 503)


async def readiness(request: Request, services: Services) -> tuple[dict, bool]:
    """The readiness report (as /ready answers it) and whether the server is ready."""
    if request.app.state.shutdown.draining:
        return {"detail": "not ready: server is shutting down", "checks": {}}, False
    timeout = services.settings.READY_TIMEOUT_SECONDS
    names = ("blobs", "graph")
    results = await asyncio.gather(
        *(_check(store.check(), timeout) for store in (services.blobs, services.graph))
    )
    checks = dict(zip(names, results, strict=False))
    failed = [f"{name}: {outcome}" for name, outcome in checks.items() if outcome != "ok"]
    if failed:
        return {"detail": "not ready: " + "; ".join(failed), "checks": checks}, False
    return {"status": "ready", "checks": checks}, True


async def _check(probe: object, timeout: float) -> str:
    try:
        await asyncio.wait_for(probe, timeout)  # type: ignore[arg-type]
    except StorageUnavailableError as exc:
        return str(exc)
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except Exception as exc:  # a probe must report, never crash the endpoint
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}},
        401: {"description": "METRICS_ACCESS=token (the default off loopback) and no valid token was sent"},
        404: {"description": "METRICS_ACCESS=port: the metrics are on METRICS_PORT, not here"},
    },
)
async def metrics(
    request: Request, services: ServicesDep, token: Annotated[str | None, Depends(bearer_token)]
) -> Response:
    """Prometheus text exposition of this server's metrics.

    Who may read it is the setting METRICS_ACCESS: `open`, `token` (any valid access or API token),
    or `port` (served on METRICS_PORT only). The default is open when the server listens on a
    loopback address and token otherwise."""
    access = services.settings.metrics_access
    if access == "port":
        raise NotFoundError("metrics are served on their own port (METRICS_ACCESS=port, METRICS_PORT)")
    if access == "token":
        if token is None:
            raise AuthenticationError(
                "/metrics needs a bearer token (METRICS_ACCESS=token, the default when HOST is not loopback)"
            )
        await services.auth.authenticate(token)
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)
