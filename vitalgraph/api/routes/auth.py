"""Login, token refresh (rotating) and logout (OAuth2 password flow)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from vitalgraph.api.audit import note_actor
from vitalgraph.api.deps import PrincipalDep, ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute

router = APIRouter(prefix="/api", tags=["auth"], route_class=BoundedBodyRoute)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class RefreshRequest(BaseModel):
    refresh_token: str


@router.post(
    "/login", response_model=TokenResponse, responses={429: {"description": "too many failed logins"}}
)
async def login(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> dict:
    """Repeated wrong passwords from one client address are answered 429 with Retry-After for a while."""
    note_actor(request, username)
    client = request.client.host if request.client else "unknown"
    return asdict(await services.auth.login(username, password, client))


@router.post("/refresh", response_model=TokenResponse)
async def refresh(services: ServicesDep, body: RefreshRequest) -> dict:
    """A new pair; the refresh token sent stops working. Sending it again ends the session (401)."""
    return asdict(await services.auth.refresh(body.refresh_token))


@router.post("/logout")
async def logout(services: ServicesDep, body: RefreshRequest) -> dict:
    """Ends the session: its refresh token and its access tokens are refused from now on."""
    await services.auth.logout(body.refresh_token)
    return {"logged_out": True}


class Me(BaseModel):
    username: str
    role: str
    api_token: bool


@router.get("/me", response_model=Me)
async def me(principal: PrincipalDep) -> Me:
    """Who the token belongs to and their role (the web app shows admin screens to admins only)."""
    return Me(
        username=principal.username, role=principal.role.value, api_token=principal.token_id is not None
    )
