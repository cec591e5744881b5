"""Password reset and invitations by email (contract 9.6).

A link carries a random token; only its HMAC is stored (security/keys.py's `SecretHasher`: a
256-bit token needs no slow hash), with a purpose, an expiry and the moment it was used. Using
one sets the password, retires the account's other links and ends every session of the account,
all in one transaction; a conditional update claims the link, so two requests racing with one
link cannot both succeed.

`forgot` answers the same, at once, whether or not the email has an account: the lookup, the
link and the email all happen after the answer, in the background (mail/sender.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api import delegation
from seam_api.core.context import current
from seam_api.core.errors import Invalid, NotFound, ServiceUnavailable
from seam_api.mail import messages
from seam_api.mail.sender import Mailer
from seam_api.messages import default_locale, t
from seam_api.operations import operation, record, step
from seam_api.passwords import repository
from seam_api.passwords.schemas import ForgotForm, PasswordOptions, ResetForm
from seam_api.ports import Parts
from seam_api.realtime.eventlog import changes_between, now_ms
from seam_api.security.access import USERS_READ
from seam_api.security.credentials import hash_password
from seam_api.security.keys import SecretHasher
from seam_api.sessions import service as sessions_service
from seam_api.users import repository as users_repository

RESET_SECONDS = 30 * 60
INVITE_SECONDS = 7 * 86400
# The console page that reads the token; in the fragment, so it reaches no server log.
LINK_PATH = "/admin/reset#token="


def _mailer(seam: Parts) -> Mailer:
    if seam.mail is None:
        raise ServiceUnavailable("errors.mail_unconfigured")
    return seam.mail


def _hasher(seam: Parts) -> SecretHasher:
    return SecretHasher(seam.settings.signing_secret, "mail-link")


def _locale() -> str:
    context = current()
    return context.locale if context else default_locale()


async def set_password_and_end_sessions(
    seam: Parts, conn: AsyncConnection, *, user_id: int, password_hash: str
) -> sessions_service.Revoked | None:
    """Set the account's password, clear a forced change (9.2) and end every session and token
    it has (9.4), in the caller's transaction; None if the account is gone. API keys stay: they
    are revoked one by one. After the commit the caller announces the ended sessions and tells
    every instance (`seam.account_changed(user_id, revoked=True)`)."""
    values = {"password_hash": password_hash, "must_change_password": 0}
    if not await users_repository.update_fields(
        conn, user_id=user_id, values=values, revoke_sessions=True
    ):
        return None
    return await sessions_service.end_all_sessions(seam, conn, user_id=user_id)


async def _store_link(
    seam: Parts, conn: AsyncConnection, *, user_id: int, purpose: str, lifetime: int
) -> str:
    """A new link token for the account, stored as its HMAC; the token itself is returned for
    the email only."""
    token = secrets.token_urlsafe(32)
    created_at = now_ms()
    await repository.create(
        conn,
        user_id=user_id,
        purpose=purpose,
        token_hash=_hasher(seam).digest(token),
        created_at=created_at,
        expires_at=created_at + lifetime * 1000,
    )
    return token


def _message(
    seam: Parts, kind: messages.Kind, *, account: Any, token: str, lifetime: int
) -> EmailMessage:
    return messages.build(
        kind,
        locale=_locale(),
        sender=seam.settings.mail_from,
        name=account["full_name"],
        email=account["email"],
        link=f"{seam.settings.link_base}{LINK_PATH}{token}",
        valid_for=lifetime,
    )


async def _deliver(mailer: Mailer, message: EmailMessage, kind: str) -> None:
    await mailer.deliver(message, kind=kind)


async def store_invitations(
    seam: Parts, conn: AsyncConnection, accounts: list[Any]
) -> Callable[[], None]:
    """Invitation links for the accounts an import creates, stored in its transaction; the
    returned function mails them after the commit, one after another in one background task,
    so ten thousand of them do not open ten thousand connections at once."""
    mailer = _mailer(seam)
    letters = []
    for account in accounts:
        token = await _store_link(
            seam, conn, user_id=account["id_user"], purpose="invite", lifetime=INVITE_SECONDS
        )
        letters.append(
            _message(seam, "invite", account=account, token=token, lifetime=INVITE_SECONDS)
        )

    async def deliver_all() -> None:
        for letter in letters:
            await mailer.deliver(letter, kind="invite")

    return lambda: mailer.later(deliver_all())


@operation("passwordOptions:fetchOne")
async def options(seam: Parts) -> PasswordOptions:
    """Whether the sign-in page may offer "Forgot password?" (mail is configured)."""
    return PasswordOptions(reset_by_email=seam.mail is not None)


@operation("auth:forgotPassword", summary=lambda _: None, data_needs=USERS_READ)
async def forgot(seam: Parts, *, form: ForgotForm, client_address: str | None) -> None:
    """Limited per address and per email (whether or not it has an account, so the limit
    tells nothing either)."""
    mailer = _mailer(seam)
    await seam.limiter.admit_mail(f"email:{form.email.casefold()}", client_address)
    mailer.later(_send_reset(seam, mailer, email=form.email))


async def _send_reset(seam: Parts, mailer: Mailer, *, email: str) -> None:
    """In the background: nothing at all for an unknown or disabled account."""
    async with seam.db.read() as conn:
        account = await users_repository.get_credentials(conn, email=email)
    if account is None or not account["is_active"]:
        return
    async with seam.db.transaction() as conn:
        token = await _store_link(
            seam, conn, user_id=account["id_user"], purpose="reset", lifetime=RESET_SECONDS
        )
        # An audit entry only: nothing a client could read changed.
        entry = await seam.events.append(
            conn,
            context=current(),
            operation="auth:forgotPassword",
            message=t("auth:forgotPassword.audit"),
            entity="user",
            entity_id=account["id_user"],
            changes={},
        )
    seam.realtime.committed(entry)
    message = _message(seam, "reset", account=account, token=token, lifetime=RESET_SECONDS)
    await mailer.deliver(message, kind="reset")


@operation("auth:resetPassword", data_needs=USERS_READ)
async def reset(seam: Parts, *, form: ResetForm, client_address: str | None) -> dict[str, int]:
    """A wrong, used or expired token (or one whose account is gone) is a 400; the password
    is hashed only for a token that was usable when checked."""
    _mailer(seam)
    await seam.limiter.admit_mail(None, client_address)
    step(seam, "checking")
    token_hash = _hasher(seam).digest(form.token)
    async with seam.db.read() as conn:
        link = await repository.find_usable(conn, token_hash=token_hash, now=now_ms())
    if link is None:
        raise Invalid("errors.mail_token_invalid")
    user_id = int(link["user_id"])
    step(seam, "hashing")
    password_hash = await hash_password(form.password)
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        now = now_ms()
        if not await repository.claim(conn, token_hash=token_hash, now=now):
            raise Invalid("errors.mail_token_invalid")  # used or expired meanwhile
        await repository.retire_for_user(conn, user_id=user_id, now=now)
        ended = await set_password_and_end_sessions(
            seam, conn, user_id=user_id, password_hash=password_hash
        )
        if ended is None:
            raise Invalid("errors.mail_token_invalid")
        result = {"idUser": user_id}
        changes = changes_between(None, None, fields=(), secrets=("password",))
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=result)
    await seam.account_changed(user_id, revoked=True)
    await sessions_service.announce(seam, ended)
    return result


@operation("user:invite", data_needs=USERS_READ)
async def invite(seam: Parts, *, user_id: int) -> dict[str, int]:
    """Mail the account a link (valid 7 days) to set its password, in the requester's language."""
    mailer = _mailer(seam)
    await delegation.check_user_change(seam, user_id=user_id)
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        account = await users_repository.get(conn, user_id=user_id)
        if account is None:
            raise NotFound("errors.user_not_found")
        token = await _store_link(
            seam, conn, user_id=user_id, purpose="invite", lifetime=INVITE_SECONDS
        )
        result = {"idUser": user_id}
        await record(seam, conn, entity="user", entity_id=user_id, changes={}, result=result)
    message = _message(seam, "invite", account=account, token=token, lifetime=INVITE_SECONDS)
    mailer.later(_deliver(mailer, message, "invite"))
    return result
