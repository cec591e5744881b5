"""The API key routes (contract 9.5): your own under /auth/keys, a user's for administrators
under /users/:id/keys. Thin: each parses, runs its operation, wraps."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.apikeys import service
from seam_api.apikeys.schemas import CreatedKey, KeyForm, KeyOut
from seam_api.security.access import Authenticated, Permitted
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId

router = APIRouter(prefix=f"{API_PREFIX}/auth/keys", tags=["api keys"])
users_router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["api keys"])


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


@users_router.get(
    "/{id}/keys",
    response_model=Envelope[list[KeyOut]],
    summary="A user's API keys, without the keys themselves",
    operation_id="listUserApiKeys",
)
async def list_user_keys(request: Request, _caller: Permitted, id: PathId) -> Response:
    return ok(await service.list_of_user(request.app.state.seam, user_id=id))


@users_router.delete(
    "/{id}/keys/{idKey}",
    response_model=Envelope[None],
    summary="Revoke one of a user's API keys; its sockets close",
    operation_id="revokeUserApiKey",
)
async def revoke_user_key(
    request: Request, _caller: Permitted, id: PathId, idKey: PathId
) -> Response:
    await service.revoke_of_user(request.app.state.seam, user_id=id, key_id=idKey)
    return ok(None)
