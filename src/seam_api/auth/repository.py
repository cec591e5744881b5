"""The SQL of the revocation list (tokens ended by logout before they expire, ended sessions,
used MFA tokens)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.models import revoked_tokens


async def revoke(conn: AsyncConnection, *, token_id: str, expires_at: int, now: int) -> None:
    """Record a revoked token, and forget those that have expired anyway."""
    await conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at <= now))
    await conn.execute(insert(revoked_tokens).values(jti=token_id, expires_at=expires_at))


async def revoked_after(conn: AsyncConnection, *, now: int) -> dict[str, int]:
    """Revoked tokens that would still be valid: id -> expiry."""
    query = select(revoked_tokens.c.jti, revoked_tokens.c.expires_at).where(
        revoked_tokens.c.expires_at > now
    )
    return {row.jti: row.expires_at for row in await conn.execute(query)}


async def use_once(conn: AsyncConnection, *, token_id: str, expires_at: int) -> bool:
    """Record a single-use token as used; False if it was already. Call it last before
    raising or committing: after a refused insert some databases take no more statements."""
    existing = select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == token_id)
    if (await conn.execute(existing)).first() is not None:
        return False
    try:
        await conn.execute(insert(revoked_tokens).values(jti=token_id, expires_at=expires_at))
    except IntegrityError:  # a concurrent use won
        return False
    return True
