"""The API explorer: Swagger UI at /docs and ReDoc at /redoc, from assets installed with the server.

The JavaScript and CSS come from the `fastapi-offline` package (maintained, on PyPI), served under
/docs/assets, so both pages work without any network beyond this server: no CDN, no web fonts.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
FAVICON_URL = f"{ASSETS_URL}/favicon.png"
SWAGGER_UI_PARAMETERS = {
    "persistAuthorization": True,  # a reload keeps the login
    "validatorUrl": None,  # no badge fetched from validator.swagger.io
    "tryItOutEnabled": True,
    "displayRequestDuration": True,
}


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install_explorer(app: FastAPI) -> None:
    """/docs, its OAuth2 redirect page, /redoc and their assets. Create the app with docs_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="explorer-assets")
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        url = _served_at(request)
        return get_swagger_ui_html(
            openapi_url=url(app.openapi_url),
            title=f"{app.title} API explorer",
            oauth2_redirect_url=url(redirect_url),
            swagger_js_url=url(f"{ASSETS_URL}/swagger-ui-bundle.js"),
            swagger_css_url=url(f"{ASSETS_URL}/swagger-ui.css"),
            swagger_favicon_url=url(FAVICON_URL),
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        url = _served_at(request)
        return get_redoc_html(
            openapi_url=url(app.openapi_url),
            title=f"{app.title} API reference",
            redoc_js_url=url(f"{ASSETS_URL}/redoc.standalone.js"),
            redoc_favicon_url=url(FAVICON_URL),
            with_google_fonts=False,
        )


def _served_at(request: Request) -> Callable[[str | None], str]:
    """The URL of an app path as the browser sees it: under the root path a proxy may serve the app at."""
    root = request.scope.get("root_path", "")
    return lambda path: f"{root}{path}"
