"""The SQL of the api_keys table."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import RowMapping, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.models import api_keys, users


async def create(
    conn: AsyncConnection,
    *,
    user_id: int,
    name: str,
    key_hash: str,
    permissions: list[str],
    created_at: int,
    expires_at: int | None,
) -> int:
    result = await conn.execute(
        insert(api_keys).values(
            user_id=user_id,
            name=name,
            key_hash=key_hash,
            permissions=orjson.dumps(permissions).decode(),
            created_at=created_at,
            expires_at=expires_at,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def list_for_user(conn: AsyncConnection, *, user_id: int) -> Sequence[RowMapping]:
    query = select(api_keys).where(api_keys.c.user_id == user_id).order_by(api_keys.c.id_key)
    return (await conn.execute(query)).mappings().all()


async def count_for_user(conn: AsyncConnection, *, user_id: int) -> int:
    query = select(func.count()).select_from(api_keys).where(api_keys.c.user_id == user_id)
    return int((await conn.execute(query)).scalar_one())


async def get_for_user(conn: AsyncConnection, *, key_id: int, user_id: int) -> RowMapping | None:
    query = select(api_keys).where(api_keys.c.id_key == key_id, api_keys.c.user_id == user_id)
    return (await conn.execute(query)).mappings().first()


async def delete_for_user(conn: AsyncConnection, *, key_id: int, user_id: int) -> bool:
    query = delete(api_keys).where(api_keys.c.id_key == key_id, api_keys.c.user_id == user_id)
    return (await conn.execute(query)).rowcount > 0


async def get_by_hash(conn: AsyncConnection, *, key_hash: str) -> RowMapping | None:
    """The key with its owner's email (the audit's actorEmail)."""
    query = (
        select(
            api_keys.c.id_key,
            api_keys.c.user_id,
            api_keys.c.permissions,
            api_keys.c.expires_at,
            users.c.email,
        )
        .join_from(api_keys, users, api_keys.c.user_id == users.c.id_user)
        .where(api_keys.c.key_hash == key_hash)
    )
    return (await conn.execute(query)).mappings().first()


async def record_uses(conn: AsyncConnection, *, used: dict[int, int]) -> None:
    """Raise each key's last use to the given moment (never lower it: instances flush in any
    order), in one batched statement."""
    statement = (
        update(api_keys)
        .where(api_keys.c.id_key == bindparam("key_id"))
        .where(
            or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < bindparam("moment"))
        )
        .values(last_used_at=bindparam("moment"))
    )
    rows = [{"key_id": key_id, "moment": moment} for key_id, moment in used.items()]
    await conn.execute(statement, rows)
