"""The SQL of the roles table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.models import roles


async def list_all(conn: AsyncConnection) -> Sequence[RowMapping]:
    return (await conn.execute(select(roles).order_by(roles.c.id_role))).mappings().all()


async def all_ids(conn: AsyncConnection) -> list[int]:
    return list((await conn.execute(select(roles.c.id_role))).scalars().all())


async def get(conn: AsyncConnection, *, role_id: int) -> RowMapping | None:
    query = select(roles).where(roles.c.id_role == role_id)
    return (await conn.execute(query)).mappings().first()


async def get_by_name(conn: AsyncConnection, *, role_name: str) -> RowMapping | None:
    query = select(roles).where(func.lower(roles.c.role_name) == role_name.lower())
    return (await conn.execute(query)).mappings().first()


async def create(conn: AsyncConnection, *, role_name: str, description: str | None) -> int:
    result = await conn.execute(insert(roles).values(role_name=role_name, description=description))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_fields(conn: AsyncConnection, *, role_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(roles).where(roles.c.id_role == role_id).values(**values))


async def delete_one(conn: AsyncConnection, *, role_id: int) -> bool:
    result = await conn.execute(delete(roles).where(roles.c.id_role == role_id))
    return result.rowcount > 0
