"""The SQL of sessions and refresh tokens."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import RowMapping, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.models import auth_sessions, mfa_totp, refresh_tokens, roles, users

_LISTED = (
    auth_sessions.c.id_session,
    auth_sessions.c.created_at,
    auth_sessions.c.last_seen_at,
    auth_sessions.c.ip,
    auth_sessions.c.user_agent,
)
# A session counts while its refresh token has not lapsed and the account's tokens were not
# revoked wholesale since it began (a new password, a new role, a disabled account).
_live = select(*_LISTED).join_from(
    auth_sessions,
    users,
    (auth_sessions.c.user_id == users.c.id_user)
    & (auth_sessions.c.token_version == users.c.token_version),
)


async def create(
    conn: AsyncConnection,
    *,
    user_id: int,
    token_version: int,
    now: int,
    expires_at: int,
    ip: str | None,
    user_agent: str | None,
) -> int:
    result = await conn.execute(
        insert(auth_sessions).values(
            user_id=user_id,
            token_version=token_version,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            ip=ip,
            user_agent=user_agent[:255] if user_agent else None,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def add_refresh_token(conn: AsyncConnection, *, session_id: int, token_hash: str) -> None:
    await conn.execute(
        insert(refresh_tokens).values(token_hash=token_hash, session_id=session_id, used=0)
    )


async def find_refresh_token(conn: AsyncConnection, *, token_hash: str) -> RowMapping | None:
    """The token, its session and what signing a new access token needs of the account."""
    query = (
        select(
            refresh_tokens.c.used,
            auth_sessions.c.id_session,
            auth_sessions.c.expires_at,
            auth_sessions.c.token_version.label("session_version"),
            users.c.id_user,
            users.c.email,
            users.c.role_id,
            users.c.is_active,
            users.c.token_version,
            users.c.must_change_password,
            roles.c.role_name,
            roles.c.require_mfa,
            mfa_totp.c.confirmed.label("mfa_confirmed"),
        )
        .join_from(refresh_tokens, auth_sessions)
        .join(users, auth_sessions.c.user_id == users.c.id_user)
        .join(roles, users.c.role_id == roles.c.id_role)
        .outerjoin(mfa_totp, mfa_totp.c.user_id == users.c.id_user)
        .where(refresh_tokens.c.token_hash == token_hash)
    )
    return (await conn.execute(query)).mappings().first()


async def retire_refresh_token(conn: AsyncConnection, *, token_hash: str) -> bool:
    """Mark a live token used; False if it was used already (by a concurrent refresh too)."""
    query = update(refresh_tokens).where(
        refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.used == 0
    )
    return (await conn.execute(query.values(used=1))).rowcount > 0


async def retire_refresh_tokens_of(conn: AsyncConnection, *, session_id: int) -> None:
    query = update(refresh_tokens).where(refresh_tokens.c.session_id == session_id)
    await conn.execute(query.values(used=1))


async def touch(
    conn: AsyncConnection,
    *,
    session_id: int,
    now: int,
    expires_at: int,
    token_version: int | None = None,
) -> None:
    """Seen now; its refresh token runs until `expires_at`."""
    values: dict[str, int] = {"last_seen_at": now, "expires_at": expires_at}
    if token_version is not None:
        values["token_version"] = token_version
    query = update(auth_sessions).where(auth_sessions.c.id_session == session_id)
    await conn.execute(query.values(**values))


async def list_live(conn: AsyncConnection, *, user_id: int, now: int) -> Sequence[RowMapping]:
    query = _live.where(auth_sessions.c.user_id == user_id, auth_sessions.c.expires_at > now)
    return (await conn.execute(query.order_by(auth_sessions.c.id_session))).mappings().all()


async def ids_of_user(
    conn: AsyncConnection, *, user_id: int, except_session_id: int | None = None
) -> list[int]:
    query = select(auth_sessions.c.id_session).where(auth_sessions.c.user_id == user_id)
    if except_session_id is not None:
        query = query.where(auth_sessions.c.id_session != except_session_id)
    return [int(row[0]) for row in await conn.execute(query)]


async def delete_one(conn: AsyncConnection, *, session_id: int, user_id: int) -> bool:
    """Delete a session of `user_id` (its refresh tokens go with it); False if there is none."""
    query = delete(auth_sessions).where(
        auth_sessions.c.id_session == session_id, auth_sessions.c.user_id == user_id
    )
    return (await conn.execute(query)).rowcount > 0


async def delete_many(conn: AsyncConnection, *, session_ids: Sequence[int]) -> None:
    if session_ids:
        query = delete(auth_sessions).where(auth_sessions.c.id_session.in_(session_ids))
        await conn.execute(query)


async def delete_dead(conn: AsyncConnection, *, user_id: int, now: int, token_version: int) -> None:
    """Forget a user's sessions that lapsed or whose tokens were revoked wholesale."""
    query = delete(auth_sessions).where(
        auth_sessions.c.user_id == user_id,
        or_(auth_sessions.c.expires_at <= now, auth_sessions.c.token_version != token_version),
    )
    await conn.execute(query)
