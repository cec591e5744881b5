"""The SQL of second factors: TOTP secrets and recovery codes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import RowMapping, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.models import mfa_recovery_codes, mfa_totp


async def get_totp(conn: AsyncConnection, *, user_id: int) -> RowMapping | None:
    query = select(mfa_totp).where(mfa_totp.c.user_id == user_id)
    return (await conn.execute(query)).mappings().first()


async def mfa_enabled(conn: AsyncConnection, *, user_id: int) -> bool:
    query = select(mfa_totp.c.user_id).where(
        mfa_totp.c.user_id == user_id, mfa_totp.c.confirmed == 1
    )
    return (await conn.execute(query)).first() is not None


async def save_pending_totp(conn: AsyncConnection, *, user_id: int, secret: str, now: int) -> None:
    """Replace a pending enrolment (never a confirmed one: the caller checks)."""
    await conn.execute(delete(mfa_totp).where(mfa_totp.c.user_id == user_id))
    await conn.execute(
        insert(mfa_totp).values(user_id=user_id, secret=secret, confirmed=0, created_at=now)
    )


async def confirm_totp(conn: AsyncConnection, *, user_id: int, step: int) -> bool:
    """Pending -> confirmed, its first code spent; False if it was not pending."""
    query = update(mfa_totp).where(mfa_totp.c.user_id == user_id, mfa_totp.c.confirmed == 0)
    return (await conn.execute(query.values(confirmed=1, last_step=step))).rowcount > 0


async def use_totp_step(conn: AsyncConnection, *, user_id: int, step: int) -> bool:
    """Spend the code of `step`; False if that step or a later one was spent already."""
    query = update(mfa_totp).where(
        mfa_totp.c.user_id == user_id,
        mfa_totp.c.confirmed == 1,
        or_(mfa_totp.c.last_step.is_(None), mfa_totp.c.last_step < step),
    )
    return (await conn.execute(query.values(last_step=step))).rowcount > 0


async def replace_recovery_codes(
    conn: AsyncConnection, *, user_id: int, code_hashes: Sequence[str]
) -> None:
    await conn.execute(delete(mfa_recovery_codes).where(mfa_recovery_codes.c.user_id == user_id))
    await conn.execute(
        insert(mfa_recovery_codes),
        [{"user_id": user_id, "code_hash": code_hash} for code_hash in code_hashes],
    )


async def use_recovery_code(conn: AsyncConnection, *, user_id: int, code_hash: str) -> bool:
    """Spend a recovery code: it is deleted; False if the user has no such code."""
    query = delete(mfa_recovery_codes).where(
        mfa_recovery_codes.c.user_id == user_id, mfa_recovery_codes.c.code_hash == code_hash
    )
    return (await conn.execute(query)).rowcount > 0


async def delete_mfa(conn: AsyncConnection, *, user_id: int) -> bool:
    """Remove a user's second factor and recovery codes; False if there was none."""
    await conn.execute(delete(mfa_recovery_codes).where(mfa_recovery_codes.c.user_id == user_id))
    return (await conn.execute(delete(mfa_totp).where(mfa_totp.c.user_id == user_id))).rowcount > 0
