"""The API key routes (contract 9.5), under /auth: thin, each parses, runs its operation, wraps."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.apikeys import service
from seam_api.apikeys.schemas import CreatedKey, KeyForm, KeyOut
from seam_api.security.access import Authenticated
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId

router = APIRouter(prefix=f"{API_PREFIX}/auth/keys", tags=["api keys"])


@router.post(
    "",
    status_code=201,
    response_model=Envelope[CreatedKey],
    summary="Create an API key for a subset of your permissions; the key is shown this once",
    operation_id="createApiKey",
)
async def create_key(request: Request, caller: Authenticated, body: KeyForm) -> Response:
    return ok(await service.create(request.app.state.seam, caller=caller, form=body), status=201)


@router.get(
    "",
    response_model=Envelope[list[KeyOut]],
    summary="Your API keys, without the keys themselves",
    operation_id="listApiKeys",
)
async def list_keys(request: Request, caller: Authenticated) -> Response:
    return ok(await service.list_own(request.app.state.seam, caller=caller))


@router.delete(
    "/{idKey}",
    response_model=Envelope[None],
    summary="Revoke one of your API keys; its sockets close",
    operation_id="revokeApiKey",
)
async def revoke_key(request: Request, caller: Authenticated, idKey: PathId) -> Response:
    await service.revoke(request.app.state.seam, caller=caller, key_id=idKey)
    return ok(None)
