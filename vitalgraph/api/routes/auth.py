"""Login and token refresh (OAuth2 password flow)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form
from pydantic import BaseModel

from vitalgraph.api.deps import ServicesDep

router = APIRouter(prefix="/api", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class RefreshRequest(BaseModel):
    refresh_token: str


@router.post("/login", response_model=TokenResponse)
def login(services: ServicesDep, username: Annotated[str, Form()], password: Annotated[str, Form()]) -> dict:
    return asdict(services.auth.login(username, password))


@router.post("/refresh", response_model=TokenResponse)
def refresh(services: ServicesDep, body: RefreshRequest) -> dict:
    return asdict(services.auth.refresh(body.refresh_token))
