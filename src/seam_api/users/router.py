"""The user routes: thin, each one parses, calls its operation and wraps the result."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.security.access import Permitted
from seam_api.users import service
from seam_api.users.schemas import TemporaryPassword, UserOut, UserStateUpdate, UserUpdate
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, Limit, Page, PathId

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])


@router.get(
    "",
    response_model=Envelope[list[UserOut]],
    summary="List users, a page at a time",
    operation_id="listUsers",
)
async def list_users(
    request: Request, _caller: Permitted, page: Page = 1, limit: Limit = 50
) -> Response:
    return ok(await service.list_page(request.app.state.seam, page=page, limit=limit))


@router.get("/{id}", response_model=Envelope[UserOut], summary="One user", operation_id="getUser")
async def get_user(request: Request, _caller: Permitted, id: PathId) -> Response:
    return ok(await service.get(request.app.state.seam, user_id=id))


@router.put(
    "/{id}",
    response_model=Envelope[UserOut],
    summary="Edit a user; a new password or role ends their sessions",
    operation_id="updateUser",
)
async def update_user(
    request: Request, _caller: Permitted, id: PathId, body: UserUpdate
) -> Response:
    return ok(await service.update(request.app.state.seam, user_id=id, changes=body))


@router.put(
    "/{id}/state",
    response_model=Envelope[UserOut],
    summary="Enable (1) or disable (0) a user",
    operation_id="setUserState",
)
async def set_user_state(
    request: Request, _caller: Permitted, id: PathId, body: UserStateUpdate
) -> Response:
    return ok(await service.set_state(request.app.state.seam, user_id=id, state=body))


@router.put(
    "/{id}/resetPassword",
    response_model=Envelope[TemporaryPassword],
    summary="Give a user a random temporary password",
    operation_id="resetUserPassword",
)
async def reset_password(request: Request, _caller: Permitted, id: PathId) -> Response:
    return ok(await service.reset_password(request.app.state.seam, user_id=id))


@router.delete(
    "/{id}",
    response_model=Envelope[None],
    summary="Delete a user and end their sessions",
    operation_id="deleteUser",
)
async def delete_user(request: Request, _caller: Permitted, id: PathId) -> Response:
    await service.delete(request.app.state.seam, user_id=id)
    return ok(None)
