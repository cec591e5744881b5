"""The auth routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.auth import capabilities, service
from seam_api.auth.schemas import (
    Capabilities,
    LoginAnswer,
    LoginForm,
    LoginResult,
    MfaLoginForm,
    RegisterForm,
)
from seam_api.core.context import current
from seam_api.security.access import Authenticated, MayRegisterAnyRole, SignedIn
from seam_api.users.schemas import UserOut
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=201,
    response_model=Envelope[UserOut],
    summary="Register a user; anonymous callers only when self-registration is on",
    operation_id="register",
)
async def register(
    request: Request, may_choose_role: MayRegisterAnyRole, body: RegisterForm
) -> Response:
    seam = request.app.state.seam
    context = current()
    address = context.client_address if context else None
    user = await service.register(
        seam, form=body, may_choose_role=may_choose_role, client_address=address
    )
    return ok(user, status=201)


@router.post(
    "/login",
    response_model=Envelope[LoginAnswer],
    summary="Sign in: a token, the user, their menu and permissions (or, with a second "
    "factor, an MFA token for /auth/login/mfa)",
    operation_id="login",
)
async def login(request: Request, body: LoginForm) -> Response:
    context = current()
    address = context.client_address if context else None
    return ok(await service.login(request.app.state.seam, form=body, client_address=address))


@router.post(
    "/login/mfa",
    response_model=Envelope[LoginResult],
    summary="Second step of a sign-in: the MFA token and a TOTP or recovery code",
    operation_id="loginMfa",
)
async def login_mfa(request: Request, body: MfaLoginForm) -> Response:
    context = current()
    address = context.client_address if context else None
    return ok(await service.login_mfa(request.app.state.seam, form=body, client_address=address))


@router.post(
    "/logout",
    response_model=Envelope[None],
    summary="Revoke the presented token and end its session",
    operation_id="logout",
)
async def logout(request: Request, caller: SignedIn) -> Response:
    await service.logout(request.app.state.seam, caller=caller)
    return ok(None)


@router.get(
    "/capabilities",
    response_model=Envelope[Capabilities],
    summary="What the caller may do beyond its permissions (also in the login's data)",
    operation_id="getCapabilities",
)
async def get_capabilities(request: Request, caller: Authenticated) -> Response:
    return ok(await capabilities.fetch(request.app.state.seam, caller=caller))
