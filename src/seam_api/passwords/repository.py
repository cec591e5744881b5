"""The SQL of the mail_tokens table (emailed single-use links)."""

from __future__ import annotations

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.models import mail_tokens


async def create(
    conn: AsyncConnection,
    *,
    user_id: int,
    purpose: str,
    token_hash: str,
    created_at: int,
    expires_at: int,
) -> None:
    await conn.execute(
        insert(mail_tokens).values(
            user_id=user_id,
            purpose=purpose,
            token_hash=token_hash,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


async def find_usable(conn: AsyncConnection, *, token_hash: str, now: int) -> RowMapping | None:
    """An unused, unexpired link (its account exists: links go with their account)."""
    query = select(mail_tokens.c.user_id, mail_tokens.c.purpose).where(
        mail_tokens.c.token_hash == token_hash,
        mail_tokens.c.used_at.is_(None),
        mail_tokens.c.expires_at > now,
    )
    return (await conn.execute(query)).mappings().first()


async def claim(conn: AsyncConnection, *, token_hash: str, now: int) -> bool:
    """Mark a usable link used; False if it was not usable (used meanwhile, or expired). The
    conditional update is what makes a link single-use under concurrent requests."""
    result = await conn.execute(
        update(mail_tokens)
        .where(
            mail_tokens.c.token_hash == token_hash,
            mail_tokens.c.used_at.is_(None),
            mail_tokens.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


async def retire_for_user(conn: AsyncConnection, *, user_id: int, now: int) -> None:
    """Every other outstanding link of the account stops working."""
    await conn.execute(
        update(mail_tokens)
        .where(mail_tokens.c.user_id == user_id, mail_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
