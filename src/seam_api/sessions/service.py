"""Sessions: every sign-in starts one, refresh tokens rotate inside it, and ending one revokes
every token it issued and closes its sockets on every instance.

For other domains (a password reset by email, API keys): `end_session` and
`end_all_sessions` run inside the caller's transaction and return what was revoked; pass that
to `announce` after the commit, so every instance drops the tokens and closes the sockets.
A refresh token is random (256 bits) and stored as its SHA-256; a used one that comes back
means it was copied, and the whole session ends (reuse detection).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api import delegation
from seam_api.auth import repository as auth_repository
from seam_api.core.context import current
from seam_api.core.errors import NotFound, Unauthorized
from seam_api.messages import t
from seam_api.operations import operation, record, step
from seam_api.ports import Parts
from seam_api.realtime.eventlog import LoggedEvent
from seam_api.security.access import USERS_READ
from seam_api.security.sessions import Caller, session_key
from seam_api.sessions import repository
from seam_api.sessions.schemas import OwnSessionOut, SessionOut, TokenPair
from seam_api.users import repository as users_repository


@dataclass(frozen=True, slots=True)
class Revoked:
    """Sessions ended in a transaction, to announce once it commits."""

    session_ids: tuple[int, ...]
    expires_at: int  # when the last access token of them would have expired anyway


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue_refresh_token(conn: AsyncConnection, session_id: int) -> str:
    """A new random refresh token for a session; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    await repository.add_refresh_token(conn, session_id=session_id, token_hash=_hash(token))
    return token


def restriction_for(
    seam: Parts, *, must_change_password: bool, require_mfa: bool, mfa_enabled: bool
) -> str | None:
    """What a new access token may reach: everything (None), or only the routes that change a
    temporary password ("password") or enrol a second factor ("mfa")."""
    if must_change_password and seam.settings.force_password_change:
        return "password"
    if require_mfa and not mfa_enabled:
        return "mfa"
    return None


def _client() -> tuple[str | None, str | None]:
    """The address and user agent of the request that signs in."""
    context = current()
    return (context.client_address, context.user_agent) if context else (None, None)


async def start(
    seam: Parts, conn: AsyncConnection, *, user_id: int, token_version: int
) -> tuple[int, str]:
    """Inside a sign-in's transaction: a new session and its first refresh token."""
    now = int(time.time())
    ip, user_agent = _client()
    await repository.delete_dead(conn, user_id=user_id, now=now, token_version=token_version)
    session_id = await repository.create(
        conn,
        user_id=user_id,
        token_version=token_version,
        now=now,
        expires_at=now + seam.settings.refresh_expires_in,
        ip=ip if seam.settings.audit_ip else None,
        user_agent=user_agent if seam.settings.audit_ip else None,
    )
    return session_id, await _issue_refresh_token(conn, session_id)


async def rotate(
    seam: Parts, conn: AsyncConnection, *, session_id: int, token_version: int | None = None
) -> str:
    """Retire every refresh token of a session and give it a new one (a new password)."""
    now = int(time.time())
    await repository.retire_refresh_tokens_of(conn, session_id=session_id)
    refresh_token = await _issue_refresh_token(conn, session_id)
    await repository.touch(
        conn,
        session_id=session_id,
        now=now,
        expires_at=now + seam.settings.refresh_expires_in,
        token_version=token_version,
    )
    return refresh_token


async def _revoke(seam: Parts, conn: AsyncConnection, session_ids: Sequence[int]) -> Revoked:
    now = int(time.time())
    expires_at = now + seam.signer.lifetime
    await repository.delete_many(conn, session_ids=session_ids)
    for session_id in session_ids:
        await auth_repository.revoke(
            conn, token_id=session_key(session_id), expires_at=expires_at, now=now
        )
    return Revoked(tuple(session_ids), expires_at)


async def end_session(
    seam: Parts, conn: AsyncConnection, *, session_id: int, user_id: int
) -> Revoked | None:
    """End one session of `user_id`, inside the caller's transaction; None if it has none
    by that id. Announce the result after the commit."""
    if session_id not in await repository.ids_of_user(conn, user_id=user_id):
        return None
    return await _revoke(seam, conn, [session_id])


async def end_all_sessions(
    seam: Parts, conn: AsyncConnection, *, user_id: int, keep_session_id: int | None = None
) -> Revoked:
    """End every session of an account (but `keep_session_id`), inside the caller's
    transaction. Announce the result after the commit."""
    ids = await repository.ids_of_user(conn, user_id=user_id, except_session_id=keep_session_id)
    return await _revoke(seam, conn, ids)


async def announce(seam: Parts, revoked: Revoked | None) -> None:
    """After the commit: every instance stops honouring the sessions' tokens and closes their
    sockets."""
    if revoked is None:
        return
    for session_id in revoked.session_ids:
        await seam.token_revoked(session_key(session_id), revoked.expires_at)


async def audit(
    seam: Parts,
    conn: AsyncConnection,
    *,
    name: str,
    user_id: int | None,
    email: str | None,
    entity_id: int | None,
) -> LoggedEvent | int:
    """An audit-only entry of a sign-in event (never broadcast, contract 6), last in its
    transaction like every log append; hand what it returns to `seam.realtime.committed`
    once the transaction has committed."""
    return await seam.events.append(
        conn,
        context=current(),
        operation=name,
        message=t(f"{name}.audit"),
        entity="session",
        entity_id=entity_id,
        changes={},
        actor_id=user_id,
        actor_email=email,
    )


# -- operations -----------------------------------------------------------------------------


@operation("auth:refresh", data_needs=USERS_READ, summary=lambda _: None)
async def refresh(seam: Parts, *, refresh_token: str) -> TokenPair:
    """A new access token and a new refresh token for a live session; the old one retires."""
    token_hash = _hash(refresh_token)
    now = int(time.time())
    step(seam, "verifying")
    async with seam.db.read() as conn:
        row = await repository.find_refresh_token(conn, token_hash=token_hash)
    if row is None:
        raise Unauthorized("errors.refresh_invalid")
    session_id = row["id_session"]
    alive = (
        row["is_active"]
        and row["session_version"] == row["token_version"]
        and row["expires_at"] > now
    )
    async with seam.db.transaction() as conn:
        # One atomic claim: of two refreshes with one token, the second finds it used.
        rotated = alive and await repository.retire_refresh_token(conn, token_hash=token_hash)
        if rotated:
            step(seam, "rotating")
            new_token = await _issue_refresh_token(conn, session_id)
            await repository.touch(
                conn,
                session_id=session_id,
                now=now,
                expires_at=now + seam.settings.refresh_expires_in,
            )
            entry = await audit(
                seam,
                conn,
                name="auth:refresh",
                user_id=row["id_user"],
                email=row["email"],
                entity_id=session_id,
            )
    if not rotated:
        await _end_refused(seam, row, reused=bool(alive))
        raise Unauthorized("errors.refresh_invalid")
    seam.realtime.committed(entry)
    restriction = restriction_for(
        seam,
        must_change_password=bool(row["must_change_password"]),
        require_mfa=bool(row["require_mfa"]),
        mfa_enabled=bool(row["mfa_confirmed"]),
    )
    token = seam.signer.sign(
        user_id=row["id_user"],
        email=row["email"],
        role_id=row["role_id"],
        role_name=row["role_name"],
        version=row["token_version"],
        session_id=session_id,
        restriction=restriction,
    )
    return TokenPair(token=token, expires_in=seam.signer.lifetime, refresh_token=new_token)


async def _end_refused(seam: Parts, row: RowMapping, *, reused: bool) -> None:
    """A used refresh token came back (it was copied: the whole session ends), or its session
    is over (lapsed, or the account's tokens were revoked)."""
    async with seam.db.transaction() as conn:
        revoked = await _revoke(seam, conn, [row["id_session"]])
        entry = await audit(
            seam,
            conn,
            name="auth:refreshReused" if reused else "auth:refreshFailed",
            user_id=row["id_user"],
            email=row["email"],
            entity_id=row["id_session"],
        )
    seam.realtime.committed(entry)
    await announce(seam, revoked)


def _listed(row: RowMapping) -> SessionOut:
    return SessionOut.model_validate(dict(row))


@operation("session:fetchAll")
async def list_own(seam: Parts, *, caller: Caller) -> list[OwnSessionOut]:
    step(seam, "querying")
    async with seam.db.read() as conn:
        rows = await repository.list_live(conn, user_id=caller.user_id, now=int(time.time()))
    return [
        OwnSessionOut.model_validate({**row, "current": row["id_session"] == caller.session_id})
        for row in rows
    ]


@operation("session:revoke", data_needs=USERS_READ)
async def revoke_own(seam: Parts, *, caller: Caller, session_id: int) -> dict[str, int]:
    """End one of the caller's sessions (404 for anyone else's)."""
    result = {"idSession": session_id}
    async with seam.db.transaction() as conn:
        step(seam, "revoking")
        revoked = await end_session(seam, conn, session_id=session_id, user_id=caller.user_id)
        if revoked is None:
            raise NotFound("errors.session_not_found")
        await record(seam, conn, entity="session", entity_id=session_id, changes={}, result=result)
    await announce(seam, revoked)
    return result


@operation("session:revokeOthers", data_needs=USERS_READ)
async def revoke_others(seam: Parts, *, caller: Caller) -> dict[str, int]:
    """Sign out everywhere else: every session of the caller but the one asking."""
    result = {"idUser": caller.user_id}
    async with seam.db.transaction() as conn:
        step(seam, "revoking")
        revoked = await end_all_sessions(
            seam, conn, user_id=caller.user_id, keep_session_id=caller.session_id
        )
        changes = {"sessions": [len(revoked.session_ids), 0]}
        await record(
            seam, conn, entity="session", entity_id=caller.user_id, changes=changes, result=result
        )
    await announce(seam, revoked)
    return result


async def _require_user(conn: AsyncConnection, user_id: int) -> None:
    if await users_repository.get_account(conn, user_id=user_id) is None:
        raise NotFound("errors.user_not_found")


@operation("session:fetchByUser")
async def list_of_user(seam: Parts, *, user_id: int) -> list[SessionOut]:
    step(seam, "querying")
    async with seam.db.read() as conn:
        await _require_user(conn, user_id)
        rows = await repository.list_live(conn, user_id=user_id, now=int(time.time()))
    return [_listed(row) for row in rows]


@operation("session:revokeByUser", data_needs=USERS_READ)
async def revoke_all_of_user(seam: Parts, *, user_id: int) -> dict[str, int]:
    """An administrator signs a user out everywhere."""
    await delegation.check_user_change(seam, user_id=user_id)
    result = {"idUser": user_id}
    async with seam.db.transaction() as conn:
        step(seam, "revoking")
        await _require_user(conn, user_id)
        revoked = await end_all_sessions(seam, conn, user_id=user_id)
        changes = {"sessions": [len(revoked.session_ids), 0]}
        await record(
            seam, conn, entity="session", entity_id=user_id, changes=changes, result=result
        )
    await announce(seam, revoked)
    return result
