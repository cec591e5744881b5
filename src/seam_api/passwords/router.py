"""The emailed-link routes (contract 9.6): forgot and reset under /auth/password (public), and
the invitation under /users (perm). Thin: parse, run the operation, wrap."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.core.context import current
from seam_api.passwords import service
from seam_api.passwords.schemas import ForgotForm, PasswordOptions, ResetForm
from seam_api.security.access import Permitted
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId

router = APIRouter(prefix=f"{API_PREFIX}/auth/password", tags=["auth"])
invitations = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])


def _address() -> str | None:
    context = current()
    return context.client_address if context else None


@router.get(
    "/options",
    response_model=Envelope[PasswordOptions],
    summary="Whether a forgotten password can be reset by email (for the sign-in page)",
    operation_id="getPasswordOptions",
)
async def password_options(request: Request) -> Response:
    return ok(await service.options(request.app.state.seam))


@router.post(
    "/forgot",
    status_code=202,
    response_model=Envelope[None],
    summary="Email a password reset link; the same answer whether or not the account exists",
    operation_id="forgotPassword",
)
async def forgot_password(request: Request, body: ForgotForm) -> Response:
    await service.forgot(request.app.state.seam, form=body, client_address=_address())
    return ok(None, status=202)


@router.post(
    "/reset",
    response_model=Envelope[None],
    summary="Set a new password with an emailed link's token; every session of the account ends",
    operation_id="resetPassword",
)
async def reset_password(request: Request, body: ResetForm) -> Response:
    await service.reset(request.app.state.seam, form=body, client_address=_address())
    return ok(None)


@invitations.post(
    "/{id}/invite",
    status_code=202,
    response_model=Envelope[None],
    summary="Email the user a link (valid 7 days) to set their password",
    operation_id="inviteUser",
)
async def invite_user(request: Request, _caller: Permitted, id: PathId) -> Response:
    await service.invite(request.app.state.seam, user_id=id)
    return ok(None, status=202)
