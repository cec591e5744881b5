"""Your own account's routes: every signed-in user has them, whatever the role."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.accounts import service
from seam_api.accounts.schemas import (
    CodeForm,
    MeOut,
    MfaDisableForm,
    MfaStatus,
    PasswordChange,
    ProfileUpdate,
    RecoveryCodes,
    TotpEnrolment,
)
from seam_api.security.access import (
    Authenticated,
    ChangingPassword,
    EnrollingMfa,
    Permitted,
    SignedIn,
)
from seam_api.sessions.schemas import TokenPair
from seam_api.users.schemas import UserOut
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["account"])
users_router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["account"])


@router.get(
    "/me",
    response_model=Envelope[MeOut],
    summary="You: your user, permissions, menu and account state",
    operation_id="getMe",
)
async def get_me(request: Request, caller: SignedIn) -> Response:
    return ok(await service.me(request.app.state.seam, caller=caller))


@router.put(
    "/me", response_model=Envelope[UserOut], summary="Change your name", operation_id="updateMe"
)
async def update_me(request: Request, caller: Authenticated, body: ProfileUpdate) -> Response:
    return ok(await service.edit(request.app.state.seam, caller=caller, form=body))


@router.put(
    "/password",
    response_model=Envelope[TokenPair],
    summary="Change your password; your other sessions end, this one gets fresh tokens",
    operation_id="changePassword",
)
async def change_password(
    request: Request, caller: ChangingPassword, body: PasswordChange
) -> Response:
    return ok(await service.change_password(request.app.state.seam, caller=caller, form=body))


@router.post(
    "/mfa/totp",
    response_model=Envelope[TotpEnrolment],
    summary="Start enrolling an authenticator app (pending until confirmed)",
    operation_id="enrolTotp",
)
async def enrol_totp(request: Request, caller: EnrollingMfa) -> Response:
    return ok(await service.enrol(request.app.state.seam, caller=caller))


@router.post(
    "/mfa/totp/confirm",
    response_model=Envelope[RecoveryCodes],
    summary="Confirm the enrolment with a code; answers ten recovery codes, once",
    operation_id="confirmTotp",
)
async def confirm_totp(request: Request, caller: EnrollingMfa, body: CodeForm) -> Response:
    return ok(await service.confirm(request.app.state.seam, caller=caller, code=body.code))


@router.delete(
    "/mfa/totp",
    response_model=Envelope[None],
    summary="Turn the second factor off, with a current code or your password",
    operation_id="disableTotp",
)
async def disable_totp(request: Request, caller: EnrollingMfa, body: MfaDisableForm) -> Response:
    await service.disable(request.app.state.seam, caller=caller, form=body)
    return ok(None)


@users_router.get(
    "/{id}/mfa",
    response_model=Envelope[MfaStatus],
    summary="Whether a user has a second factor (one an administrator may clear)",
    operation_id="getUserMfa",
)
async def get_user_mfa(request: Request, _caller: Permitted, id: PathId) -> Response:
    return ok(await service.status_of_user(request.app.state.seam, user_id=id))


@users_router.delete(
    "/{id}/mfa",
    response_model=Envelope[None],
    summary="Clear a user's second factor",
    operation_id="resetUserMfa",
)
async def reset_user_mfa(request: Request, _caller: Permitted, id: PathId) -> Response:
    await service.reset_for_user(request.app.state.seam, user_id=id)
    return ok(None)
