"""API tokens for machine clients: create (the secret is shown once), list, revoke.

Users manage their own tokens; admins see and revoke everyone's and may create tokens for others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.api.deps import PrincipalDep, ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute
from vitalgraph.services.accounts import ApiTokenRecord
from vitalgraph.services.auth import MAX_TOKEN_NAME

router = APIRouter(prefix="/api/tokens", tags=["tokens"], route_class=BoundedBodyRoute)

MAX_TOKEN_LIFETIME = 10 * 365 * 24 * 3600


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_TOKEN_NAME, description="what the token is for")
    expires_in_seconds: int | None = Field(
        default=None, ge=60, le=MAX_TOKEN_LIFETIME, description="omit: never"
    )
    username: str | None = Field(default=None, max_length=64, description="admins only: the token's owner")


class TokenOut(BaseModel):
    token_id: str
    name: str
    username: str
    created: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, record: ApiTokenRecord) -> TokenOut:
        expires = datetime.fromtimestamp(record.expires_at, UTC) if record.expires_at is not None else None
        return cls(
            token_id=record.token_id,
            name=record.name,
            username=record.username,
            created=record.created,
            expires_at=expires,
        )


class TokenCreated(TokenOut):
    token: str = Field(
        description="the secret: send as 'Authorization: Bearer <token>'; shown only this once"
    )


class TokenList(BaseModel):
    tokens: list[TokenOut]
    total_count: int


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_token(body: TokenCreate, services: ServicesDep, principal: PrincipalDep) -> TokenCreated:
    """A new API token for the caller; the secret is shown in this reply only."""
    owner = body.username or principal.username
    if owner != principal.username:
        services.access.require_admin(principal, "create API tokens for other users")
    record, secret = await services.auth.create_api_token(owner, body.name, body.expires_in_seconds)
    return TokenCreated(**TokenOut.of(record).model_dump(), token=secret)


@router.get("", response_model=TokenList)
async def list_tokens(services: ServicesDep, principal: PrincipalDep) -> TokenList:
    """The caller's tokens (admins: everyone's); never the secrets."""
    tokens = await services.auth.list_api_tokens(principal)
    return TokenList(tokens=[TokenOut.of(t) for t in tokens], total_count=len(tokens))


@router.delete("/{token_id}")
async def revoke_token(
    token_id: Annotated[str, Path(min_length=1, max_length=64)],
    services: ServicesDep,
    principal: PrincipalDep,
) -> dict:
    """Refused at once on every replica; someone else's token answers 404 like an unknown one."""
    record = await services.auth.revoke_api_token(principal, token_id)
    return {"revoked": record.token_id}
