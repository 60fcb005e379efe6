"""The landing page at `/`: the web app for browsers, a JSON summary for clients asking for JSON.

The app's files are served from the package (`vitalgraph/api/ui/static/`) under `/ui/`, so a browser
needs nothing beyond this server. Every URL in the app is relative to the page, so it works unchanged
behind a reverse proxy that serves it under a path prefix.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from vitalgraph.api.deps import ServicesDep
from vitalgraph.api.routes.operations import readiness

router = APIRouter(tags=["operations"])

STATIC_DIR = Path(str(files("vitalgraph.api.ui") / "static"))
# The app talks to this server only; downloads are navigations (not limited here), previews blob: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; frame-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@cache
def _index_html() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def wants_json(accept: str | None) -> bool:
    """True when the Accept header ranks application/json above text/html (`*/*` alone: HTML)."""
    quality = {"application/json": 0.0, "text/html": 0.0}
    for item in (accept or "").split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        for wanted in quality:
            if media == wanted:
                quality[wanted] = max(quality[wanted], q)
    return quality["application/json"] > quality["text/html"]


@router.get(
    "/",
    response_class=HTMLResponse,
    response_model=None,
    responses={200: {"content": {"text/html": {}, "application/json": {}}}},
)
async def landing(request: Request, services: ServicesDep) -> HTMLResponse | JSONResponse:
    """Browsers get the web app. Clients sending `Accept: application/json` get the name, version,
    links and health of the server."""
    if wants_json(request.headers.get("accept")):
        base = str(request.base_url)
        health, ready = await readiness(request, services)
        return JSONResponse(
            {
                "name": request.app.title,
                "version": request.app.version,
                "links": {
                    "app": base,
                    "docs": base + "docs",
                    "redoc": base + "redoc",
                    "openapi": base + "openapi.json",
                    "health": base + "health",
                    "ready": base + "ready",
                    "metrics": base + "metrics",
                },
                "health": {**health, "ready": ready},
            },
            headers={"Vary": "Accept"},
        )
    return HTMLResponse(
        _index_html(),
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
            "Vary": "Accept",
        },
    )


@router.get("/ui", include_in_schema=False)
async def ui_root() -> RedirectResponse:
    return RedirectResponse("./", status_code=307)  # relative: correct behind any path prefix


@router.get("/ui/", include_in_schema=False)
async def ui_index() -> RedirectResponse:
    return RedirectResponse("../", status_code=307)


def static_files() -> StaticFiles:
    """The app's scripts, styles and vendored libraries, mounted at /ui."""
    return StaticFiles(directory=STATIC_DIR)
