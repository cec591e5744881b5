"""The session routes: your own sessions, refreshing a token, and an administrator's view of a
user's sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.security.access import Authenticated, Permitted
from seam_api.sessions import service
from seam_api.sessions.schemas import OwnSessionOut, RefreshForm, SessionOut, TokenPair
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["sessions"])
users_router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["sessions"])


@router.post(
    "/refresh",
    response_model=Envelope[TokenPair],
    summary="Trade a refresh token for a new access token and a new refresh token",
    operation_id="refreshToken",
)
async def refresh(request: Request, body: RefreshForm) -> Response:
    return ok(await service.refresh(request.app.state.seam, refresh_token=body.refresh_token))


@router.get(
    "/sessions",
    response_model=Envelope[list[OwnSessionOut]],
    summary="Your sessions; `current` marks this one",
    operation_id="listOwnSessions",
)
async def list_own(request: Request, caller: Authenticated) -> Response:
    return ok(await service.list_own(request.app.state.seam, caller=caller))


@router.delete(
    "/sessions/{idSession}",
    response_model=Envelope[None],
    summary="End one of your sessions",
    operation_id="revokeOwnSession",
)
async def revoke_own(request: Request, caller: Authenticated, idSession: PathId) -> Response:
    await service.revoke_own(request.app.state.seam, caller=caller, session_id=idSession)
    return ok(None)


@router.delete(
    "/sessions",
    response_model=Envelope[None],
    summary="End every session of yours but this one",
    operation_id="revokeOtherSessions",
)
async def revoke_others(request: Request, caller: Authenticated) -> Response:
    await service.revoke_others(request.app.state.seam, caller=caller)
    return ok(None)


@users_router.get(
    "/{id}/sessions",
    response_model=Envelope[list[SessionOut]],
    summary="A user's sessions",
    operation_id="listUserSessions",
)
async def list_of_user(request: Request, _caller: Permitted, id: PathId) -> Response:
    return ok(await service.list_of_user(request.app.state.seam, user_id=id))


@users_router.delete(
    "/{id}/sessions",
    response_model=Envelope[None],
    summary="End every session of a user",
    operation_id="revokeUserSessions",
)
async def revoke_all_of_user(request: Request, _caller: Permitted, id: PathId) -> Response:
    await service.revoke_all_of_user(request.app.state.seam, user_id=id)
    return ok(None)
