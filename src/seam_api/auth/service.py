"""Registration, login and logout.

Login answers one message, in comparable time, for an unknown email, a wrong password and an
inactive account. Every attempt is counted before its password is checked (security/limits.py),
keyed on the account the database finds for the email, and self-registration per address
before its password is hashed.
"""

from __future__ import annotations

import time
import unicodedata

from sqlalchemy import RowMapping

from seam_api import delegation
from seam_api.accounts import service as accounts_service
from seam_api.auth import repository
from seam_api.auth.capabilities import capabilities
from seam_api.auth.schemas import LoginForm, LoginResult, MfaChallenge, MfaLoginForm, RegisterForm
from seam_api.core.context import current
from seam_api.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    TooManyRequests,
    Unauthorized,
)
from seam_api.messages import t
from seam_api.operations import entries_need, operation, record, step
from seam_api.permissions import service as permissions_service
from seam_api.ports import Parts
from seam_api.roles import service as roles_service
from seam_api.security.access import USERS_READ
from seam_api.security.credentials import hash_password, needs_rehash, verify_password
from seam_api.security.sessions import Caller
from seam_api.sessions import service as sessions_service
from seam_api.sidebar import service as sidebar_service
from seam_api.users import repository as users_repository
from seam_api.users import service as users_service
from seam_api.users.schemas import UserOut

# How long the second step of a sign-in may wait for its code (contract 9.3: at most 300 s).
MFA_TOKEN_SECONDS = 300

# Sign-in entries (who signed in, from which address) are a user's data, as auth:login declares;
# these are written under names of their own (sessions/service.py's for a refresh).
entries_need(USERS_READ, "auth:loginFailed", "auth:refreshReused", "auth:refreshFailed")


@operation("auth:register", data_needs=USERS_READ)
async def register(
    seam: Parts, *, form: RegisterForm, may_choose_role: bool, client_address: str | None
) -> UserOut:
    """Anonymous callers only when self-registration is on, into the default role; callers
    whose role holds the register permission, into any existing role (docs/reference.md §4.1)."""
    if not may_choose_role and not seam.settings.self_registration:
        raise Forbidden("errors.registration_closed")
    if form.password is None and not may_choose_role:
        missing = t("validation.missing", label=t("label.password"))
        raise Invalid("errors.validation", errors=[FieldError("password", missing)])
    if not may_choose_role:
        await seam.limiter.admit_registration(client_address)
    await delegation.check_role_grant(seam, role_id=form.role_id if may_choose_role else None)
    async with seam.db.read() as conn:
        step(seam, "checking_role")
        default = await roles_service.get_by_name(conn, role_name=seam.settings.default_role)
        role_id = default.id_role if default else None
        if may_choose_role and form.role_id is not None:
            if not await roles_service.exists(conn, role_id=form.role_id):
                raise Invalid("errors.role_unknown")
            role_id = form.role_id
        elif form.role_id is not None and form.role_id != role_id:
            raise Forbidden("errors.registration_role")
        if role_id is None:
            raise Conflict("errors.default_role_missing")
        step(seam, "checking_email")
        if await users_repository.email_taken(conn, email=form.email):
            raise Conflict("errors.email_taken")
    password_hash = None  # an invited account: no password until its link is used
    if form.password is not None:
        step(seam, "hashing")
        password_hash = await hash_password(form.password)
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        # Checked again inside the write: the unique index turns a race into a 409 as well.
        if await users_repository.email_taken(conn, email=form.email):
            raise Conflict("errors.email_taken")
        user_id = await users_repository.create(
            conn,
            full_name=form.full_name,
            email=form.email,
            password_hash=password_hash,
            role_id=role_id,
        )
        row = await users_repository.get(conn, user_id=user_id)
        user = UserOut.model_validate(dict(row))  # type: ignore[arg-type]
        changes = users_service.user_changes(None, row, password=password_hash is not None)
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=user)
    await seam.account_changed(user_id, revoked=False)  # no cached "no such account" survives
    return user


def _login_summary(result: LoginResult | MfaChallenge) -> dict[str, object] | None:
    """Who signed in, never a token."""
    if isinstance(result, MfaChallenge):
        return None
    return {"idUser": result.user.id_user, "email": result.user.email}


def _limit_key(account: RowMapping | None, email: str) -> str:
    """What the login limits count on: the account the database found, or, for an email that
    matches none, its form without case or accents (MariaDB's collation ignores both), so
    spellings of one address share a count whether or not it has an account."""
    if account is not None:
        return accounts_service.login_limit_key(account["id_user"])
    decomposed = unicodedata.normalize("NFKD", email.casefold())
    return "email:" + "".join(c for c in decomposed if not unicodedata.combining(c))


@operation("auth:login", summary=_login_summary, data_needs=USERS_READ)
async def login(
    seam: Parts, *, form: LoginForm, client_address: str | None
) -> LoginResult | MfaChallenge:
    """The password; then, for an account with a second factor, an MFA token for the code."""
    email = form.email.strip().lower()
    async with seam.db.read() as conn:
        account = await users_repository.get_credentials(conn, email=email)
    attempt = await seam.limiter.admit_login(_limit_key(account, email), client_address)
    step(seam, "verifying")
    try:
        valid = await verify_password(form.password, account["password_hash"] if account else None)
    except TooManyRequests:
        await seam.limiter.not_checked(attempt)
        raise
    if account is None or not valid or not account["is_active"]:
        await _audit_session(
            seam, "auth:loginFailed", account["id_user"] if account else None, email
        )
        raise Unauthorized("errors.credentials")
    if needs_rehash(account["password_hash"]):
        await _rehash(seam, user_id=account["id_user"], old=account["password_hash"], form=form)
    async with seam.db.read() as conn:
        mfa_enabled = await accounts_service.mfa_enabled(conn, user_id=account["id_user"])
    if mfa_enabled:
        # Neither a success nor a failure yet: the count stands until the code is right, so
        # the password cannot be replayed to reset the count of guessed codes.
        await seam.limiter.not_checked(attempt)
        token, _token_id = seam.signer.sign_mfa(
            user_id=account["id_user"], lifetime=MFA_TOKEN_SECONDS
        )
        return MfaChallenge(mfa_token=token, expires_in=MFA_TOKEN_SECONDS)
    await seam.limiter.succeeded(attempt)
    return await _sign_in(seam, account, name="auth:login", mfa_enabled=False)


@operation("auth:loginMfa", summary=_login_summary, data_needs=USERS_READ)
async def login_mfa(seam: Parts, *, form: MfaLoginForm, client_address: str | None) -> LoginResult:
    """The second step: an unused MFA token and a code (TOTP or recovery) make a sign-in."""
    claims = seam.signer.verify_mfa(form.mfa_token)
    if claims is None:
        raise Unauthorized("errors.mfa_token_invalid")
    user_id, token_id, expires_at = claims
    attempt = await seam.limiter.admit_login(
        accounts_service.login_limit_key(user_id), client_address
    )
    step(seam, "verifying")
    async with seam.db.read() as conn:
        account = await users_repository.get_credentials_by_id(conn, user_id=user_id)
    if account is None or not account["is_active"]:
        raise Unauthorized("errors.mfa_token_invalid")
    async with seam.db.transaction() as conn:
        accepted = await accounts_service.spend_second_factor(
            seam, conn, user_id=user_id, code=form.code
        )
        # Last: a refused insert ends what this transaction may do on some databases.
        first_use = accepted and await repository.use_once(
            conn, token_id=token_id, expires_at=expires_at
        )
        if accepted and not first_use:
            raise Unauthorized("errors.mfa_token_invalid")  # rolls the spent code back
    if not accepted:
        await _audit_session(seam, "auth:loginFailed", user_id, account["email"])
        raise Unauthorized("errors.code_invalid")
    await seam.limiter.succeeded(attempt)
    return await _sign_in(seam, account, name="auth:loginMfa", mfa_enabled=True)


async def _sign_in(
    seam: Parts, account: RowMapping, *, name: str, mfa_enabled: bool
) -> LoginResult:
    """A new session for a proven account, its tokens, menu and permissions."""
    user_id = account["id_user"]
    async with seam.db.transaction() as conn:
        session_id, refresh_token = await sessions_service.start(
            seam, conn, user_id=user_id, token_version=account["token_version"]
        )
        entry = await sessions_service.audit(
            seam, conn, name=name, user_id=user_id, email=account["email"], entity_id=user_id
        )
    seam.realtime.committed(entry)
    step(seam, "loading")
    role_id = account["role_id"]
    async with seam.db.read() as conn:
        sidebar_items = await sidebar_service.items_for_role(conn, role_id=role_id)
        permissions = await permissions_service.name_uris_for_role(conn, role_id=role_id)
    reach = await capabilities(seam, role_id=role_id)
    step(seam, "signing")
    restriction = sessions_service.restriction_for(
        seam,
        must_change_password=bool(account["must_change_password"]),
        require_mfa=bool(account["require_mfa"]),
        mfa_enabled=mfa_enabled,
    )
    token = seam.signer.sign(
        user_id=user_id,
        email=account["email"],
        role_id=role_id,
        role_name=account["role_name"],
        version=account["token_version"],
        session_id=session_id,
        restriction=restriction,
    )
    return LoginResult(
        token=token,
        expires_in=seam.signer.lifetime,
        user=UserOut.model_validate(dict(account)),
        sidebar_items=sidebar_items,
        permissions=permissions,
        refresh_token=refresh_token,
        must_change_password=restriction == "password" or None,
        mfa_enrolment_required=restriction == "mfa" or None,
        capabilities=reach,
    )


async def _rehash(seam: Parts, *, user_id: int, old: str, form: LoginForm) -> None:
    """Move a verified bcrypt (or outdated Argon2) hash to today's Argon2id, unless the password
    changed meanwhile; tokens stay valid, since the password did not change."""
    new = await hash_password(form.password)
    async with seam.db.transaction() as conn:
        await users_repository.replace_password_hash(conn, user_id=user_id, old=old, new=new)


@operation("auth:logout", summary=lambda _: None, data_needs=USERS_READ)
async def logout(seam: Parts, *, caller: Caller) -> None:
    """Revoke the presented token and end its session (its refresh token and other tokens)."""
    step(seam, "revoking")
    async with seam.db.transaction() as conn:
        await repository.revoke(
            conn,
            token_id=caller.token_id,
            expires_at=caller.token_expires_at,
            now=int(time.time()),
        )
        ended = None
        if caller.session_id is not None:
            ended = await sessions_service.end_session(
                seam, conn, session_id=caller.session_id, user_id=caller.user_id
            )
        entry = await seam.events.append(
            conn,
            context=current(),
            operation="auth:logout",
            message=t("auth:logout.success"),
            entity="session",
            entity_id=caller.user_id,
            changes={},
        )
    seam.realtime.committed(entry)
    await seam.token_revoked(caller.token_id, caller.token_expires_at)
    await sessions_service.announce(seam, ended)


async def _audit_session(seam: Parts, name: str, user_id: int | None, email: str) -> None:
    """Sign-ins, failed or not, are audit entries only (contract 6): never broadcast."""
    async with seam.db.transaction() as conn:
        entry = await sessions_service.audit(
            seam, conn, name=name, user_id=user_id, email=email, entity_id=user_id
        )
    seam.realtime.committed(entry)
