"""Your own account: who you are, your name, your password, and your second factor.

Every proof an account gives (a current password, a TOTP code, a recovery code) is counted by
the login limiter on the same key as a sign-in, so guessing here is no cheaper than at login.
A TOTP secret is sealed under a key derived from the server secret (security/secrets_box.py)
and bound to its row; recovery codes are stored as keyed hashes and deleted when used.
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api import delegation
from seam_api.accounts import repository
from seam_api.accounts.schemas import (
    MeOut,
    MfaDisableForm,
    MfaStatus,
    PasswordChange,
    ProfileUpdate,
    RecoveryCodes,
    TotpEnrolment,
)
from seam_api.core.context import current
from seam_api.core.errors import Conflict, FieldError, Invalid, NotFound, Unauthorized
from seam_api.messages import t
from seam_api.operations import operation, record, step
from seam_api.permissions import service as permissions_service
from seam_api.ports import Parts
from seam_api.realtime.eventlog import changes_between
from seam_api.security import totp
from seam_api.security.access import USERS_READ
from seam_api.security.credentials import hash_password, verify_password
from seam_api.security.limits import LoginAttempt
from seam_api.security.sessions import Caller
from seam_api.sessions import service as sessions_service
from seam_api.sessions.schemas import TokenPair
from seam_api.sidebar import service as sidebar_service
from seam_api.users import repository as users_repository
from seam_api.users import service as users_service
from seam_api.users.schemas import UserOut


def login_limit_key(user_id: int) -> str:
    """The login limiter's key for an account (auth/service.py counts sign-ins on it too)."""
    return f"id:{user_id}"


async def _admit(seam: Parts, user_id: int) -> LoginAttempt:
    context = current()
    address = context.client_address if context else None
    return await seam.limiter.admit_login(login_limit_key(user_id), address)


def _sealing_context(user_id: int) -> str:
    return f"totp:{user_id}"


async def spend_second_factor(
    seam: Parts, conn: AsyncConnection, *, user_id: int, code: str
) -> bool:
    """Inside a transaction: accept `code` once, a TOTP code of the current or previous step
    not spent before (nor a later one), or an unused recovery code."""
    row = await repository.get_totp(conn, user_id=user_id)
    if row is None or not row["confirmed"]:
        return False
    secret = seam.secrets_box.open(row["secret"], associated=_sealing_context(user_id))
    matched = totp.matching_step(secret, code) if secret else None
    if matched is not None:
        return await repository.use_totp_step(conn, user_id=user_id, step=matched)
    normal = totp.normal_recovery_code(code)
    if not normal:
        return False
    code_hash = seam.code_hasher.hash(normal)
    return await repository.use_recovery_code(conn, user_id=user_id, code_hash=code_hash)


async def mfa_enabled(conn: AsyncConnection, *, user_id: int) -> bool:
    return await repository.mfa_enabled(conn, user_id=user_id)


# -- your own account -----------------------------------------------------------------------


@operation("account:fetchOne", summary=lambda me: {"idUser": me.user.id_user})
async def me(seam: Parts, *, caller: Caller) -> MeOut:
    step(seam, "querying")
    async with seam.db.read() as conn:
        row = await users_repository.get_credentials_by_id(conn, user_id=caller.user_id)
        if row is None:
            raise Unauthorized("errors.token_invalid")
        sidebar_items = await sidebar_service.items_for_role(conn, role_id=row["role_id"])
        permissions = await permissions_service.name_uris_for_role(conn, role_id=row["role_id"])
        enabled = await repository.mfa_enabled(conn, user_id=caller.user_id)
    return MeOut(
        user=UserOut.model_validate(dict(row)),
        permissions=permissions,
        sidebar_items=sidebar_items,
        mfa_enabled=enabled,
        must_change_password=bool(row["must_change_password"])
        and seam.settings.force_password_change,
        mfa_enrolment_required=caller.restriction == "mfa" and not enabled,
    )


@operation("account:edit", data_needs=USERS_READ, summary=lambda user: {"idUser": user.id_user})
async def edit(seam: Parts, *, caller: Caller, form: ProfileUpdate) -> UserOut:
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        before = await users_repository.get(conn, user_id=caller.user_id, lock=True)
        if before is None:
            raise Unauthorized("errors.token_invalid")
        await users_repository.update_fields(
            conn,
            user_id=caller.user_id,
            values={"full_name": form.full_name},
            revoke_sessions=False,
        )
        row = await users_repository.get(conn, user_id=caller.user_id)
        user = UserOut.model_validate(dict(row))  # type: ignore[arg-type]
        changes = users_service.user_changes(before, row)
        await record(
            seam, conn, entity="user", entity_id=caller.user_id, changes=changes, result=user
        )
    return user


@operation("account:changePassword", data_needs=USERS_READ, summary=lambda _: None)
async def change_password(seam: Parts, *, caller: Caller, form: PasswordChange) -> TokenPair:
    """A new password: every other session ends, this one carries on with fresh tokens."""
    if form.new_password == form.current_password:
        message = t("errors.password_unchanged")
        raise Invalid("errors.validation", errors=[FieldError("newPassword", message)])
    async with seam.db.read() as conn:
        account = await users_repository.get_credentials_by_id(conn, user_id=caller.user_id)
    if account is None:
        raise Unauthorized("errors.token_invalid")
    attempt = await _admit(seam, caller.user_id)
    step(seam, "verifying")
    if not await verify_password(form.current_password, account["password_hash"]):
        raise Unauthorized("errors.current_password")
    await seam.limiter.succeeded(attempt)
    step(seam, "hashing")
    new_hash = await hash_password(form.new_password)
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        # A new token version ends every access token of the account, this one's included.
        await users_repository.update_fields(
            conn,
            user_id=caller.user_id,
            values={"password_hash": new_hash, "must_change_password": 0},
            revoke_sessions=True,
        )
        state = await users_repository.get_account(conn, user_id=caller.user_id)
        if state is None:
            raise Unauthorized("errors.token_invalid")
        version = state["token_version"]
        revoked = await sessions_service.end_all_sessions(
            seam, conn, user_id=caller.user_id, keep_session_id=caller.session_id
        )
        if caller.session_id is not None:
            session_id = caller.session_id
            refresh_token = await sessions_service.rotate(
                seam, conn, session_id=session_id, token_version=version
            )
        else:  # a token from before sessions: this sign-in becomes one
            session_id, refresh_token = await sessions_service.start(
                seam, conn, user_id=caller.user_id, token_version=version
            )
        restriction = sessions_service.restriction_for(
            seam,
            must_change_password=False,
            require_mfa=bool(account["require_mfa"]),
            mfa_enabled=await repository.mfa_enabled(conn, user_id=caller.user_id),
        )
        token = seam.signer.sign(
            user_id=caller.user_id,
            email=account["email"],
            role_id=account["role_id"],
            role_name=account["role_name"],
            version=version,
            session_id=session_id,
            restriction=restriction,
        )
        changes = changes_between(None, None, fields=(), secrets=("password",))
        await record(
            seam, conn, entity="user", entity_id=caller.user_id, changes=changes, result=None
        )
    await seam.account_changed(caller.user_id, revoked=True)
    await sessions_service.announce(seam, revoked)
    return TokenPair(token=token, expires_in=seam.signer.lifetime, refresh_token=refresh_token)


# -- the second factor ----------------------------------------------------------------------


@operation("mfa:enrol", data_needs=USERS_READ, summary=lambda _: None)
async def enrol(seam: Parts, *, caller: Caller) -> TotpEnrolment:
    """A new pending secret (replacing a pending one); confirmed by its first code."""
    step(seam, "generating")
    secret = totp.new_secret()
    sealed = seam.secrets_box.seal(secret, associated=_sealing_context(caller.user_id))
    async with seam.db.transaction() as conn:
        user = await users_repository.get(conn, user_id=caller.user_id)
        if user is None:
            raise Unauthorized("errors.token_invalid")
        existing = await repository.get_totp(conn, user_id=caller.user_id)
        if existing is not None and existing["confirmed"]:
            raise Conflict("errors.mfa_already_enabled")
        await repository.save_pending_totp(
            conn, user_id=caller.user_id, secret=sealed, now=int(time.time())
        )
        changes = {"totp": [None, "pending"]}
        await record(
            seam, conn, entity="mfa", entity_id=caller.user_id, changes=changes, result=None
        )
    uri = totp.provisioning_uri(secret, account=user["email"])
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


@operation("mfa:confirm", data_needs=USERS_READ, summary=lambda _: None)
async def confirm(seam: Parts, *, caller: Caller, code: str) -> RecoveryCodes:
    """The first code turns the pending secret on; ten recovery codes are made, shown once."""
    attempt = await _admit(seam, caller.user_id)
    codes = totp.new_recovery_codes()
    hashes = [seam.code_hasher.hash(totp.normal_recovery_code(c)) for c in codes]
    async with seam.db.transaction() as conn:
        step(seam, "verifying")
        row = await repository.get_totp(conn, user_id=caller.user_id)
        if row is None or row["confirmed"]:
            raise Conflict("errors.mfa_not_pending")
        secret = seam.secrets_box.open(row["secret"], associated=_sealing_context(caller.user_id))
        matched = totp.matching_step(secret, code) if secret else None
        confirmed = matched is not None and await repository.confirm_totp(
            conn, user_id=caller.user_id, step=matched
        )
        if confirmed:
            step(seam, "saving")
            await repository.replace_recovery_codes(
                conn, user_id=caller.user_id, code_hashes=hashes
            )
            changes = {"totp": ["pending", "enabled"]}
            await record(
                seam, conn, entity="mfa", entity_id=caller.user_id, changes=changes, result=None
            )
    if not confirmed:
        raise Unauthorized("errors.code_invalid")
    await seam.limiter.succeeded(attempt)
    await seam.account_changed(caller.user_id, revoked=False)  # lifts a pending enrolment
    return RecoveryCodes(recovery_codes=codes)


@operation("mfa:disable", data_needs=USERS_READ, summary=lambda _: None)
async def disable(seam: Parts, *, caller: Caller, form: MfaDisableForm) -> None:
    """Off, proven by a current code or the password."""
    async with seam.db.read() as conn:
        if await repository.get_totp(conn, user_id=caller.user_id) is None:
            raise Conflict("errors.mfa_not_enabled")
        account = await users_repository.get_credentials_by_id(conn, user_id=caller.user_id)
    if account is None:
        raise Unauthorized("errors.token_invalid")
    attempt = await _admit(seam, caller.user_id)
    step(seam, "verifying")
    proven = form.password is not None and await verify_password(
        form.password, account["password_hash"]
    )
    async with seam.db.transaction() as conn:
        if not proven and form.code is not None:
            proven = await spend_second_factor(seam, conn, user_id=caller.user_id, code=form.code)
        if proven:
            step(seam, "saving")
            await repository.delete_mfa(conn, user_id=caller.user_id)
            changes = {"totp": ["enabled", None]}
            await record(
                seam, conn, entity="mfa", entity_id=caller.user_id, changes=changes, result=None
            )
    if not proven:
        raise Unauthorized("errors.code_invalid" if form.code else "errors.current_password")
    await seam.limiter.succeeded(attempt)
    await seam.account_changed(caller.user_id, revoked=False)


@operation("mfa:fetchByUser")
async def status_of_user(seam: Parts, *, user_id: int) -> MfaStatus:
    """Whether a user has a confirmed second factor (a pending enrolment is none)."""
    step(seam, "querying")
    async with seam.db.read() as conn:
        if await users_repository.get_account(conn, user_id=user_id) is None:
            raise NotFound("errors.user_not_found")
        return MfaStatus(mfa_enabled=await repository.mfa_enabled(conn, user_id=user_id))


@operation("user:resetMfa", data_needs=USERS_READ)
async def reset_for_user(seam: Parts, *, user_id: int) -> dict[str, int]:
    """An administrator clears a user's second factor (a lost phone); the user enrols again."""
    await delegation.check_user_change(seam, user_id=user_id)
    result = {"idUser": user_id}
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        if await users_repository.get_account(conn, user_id=user_id) is None:
            raise NotFound("errors.user_not_found")
        await repository.delete_mfa(conn, user_id=user_id)
        changes = {"totp": ["enabled", None]}
        await record(seam, conn, entity="mfa", entity_id=user_id, changes=changes, result=result)
    await seam.account_changed(user_id, revoked=False)
    return result
