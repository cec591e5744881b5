"""The SQL of the sidebar items and their role assignments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.statements import DriverStatement, RowUpdates
from seam_api.models import role_sidebar_items, roles, sidebar_items


async def list_for_role(conn: AsyncConnection, *, role_id: int) -> Sequence[RowMapping]:
    query = (
        select(sidebar_items)
        .join(role_sidebar_items, role_sidebar_items.c.item_id == sidebar_items.c.id_item)
        .where(role_sidebar_items.c.role_id == role_id)
        .order_by(sidebar_items.c.id_item)
    )
    return (await conn.execute(query)).mappings().all()


async def list_all(conn: AsyncConnection) -> Sequence[RowMapping]:
    query = select(sidebar_items).order_by(sidebar_items.c.id_item)
    return (await conn.execute(query)).mappings().all()


async def list_assignments(conn: AsyncConnection) -> Sequence[RowMapping]:
    """Every (item, role) pair with the role's name, by item then role id."""
    query = (
        select(role_sidebar_items.c.item_id, roles.c.id_role, roles.c.role_name)
        .join(roles, roles.c.id_role == role_sidebar_items.c.role_id)
        .order_by(role_sidebar_items.c.item_id, roles.c.id_role)
    )
    return (await conn.execute(query)).mappings().all()


_ONE_QUERY = select(sidebar_items).where(sidebar_items.c.id_item == bindparam("item_id"))
_ONE, _ONE_LOCKED = DriverStatement(_ONE_QUERY), DriverStatement(_ONE_QUERY.with_for_update())


async def get(conn: AsyncConnection, *, item_id: int, lock: bool = False) -> dict[str, Any] | None:
    """One item; `lock`ed until the transaction ends, for an edit or a delete."""
    return await (_ONE_LOCKED if lock else _ONE).row(conn, {"item_id": item_id})


async def create(conn: AsyncConnection, *, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(sidebar_items).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


_UPDATES = RowUpdates(sidebar_items, sidebar_items.c.id_item, tuple(sidebar_items.c))


async def update_and_get(
    conn: AsyncConnection, *, item_id: int, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Write `values`, answering the item as saved (None when no such item)."""
    return await _UPDATES.apply(conn, item_id, values)


async def delete_one(conn: AsyncConnection, *, item_id: int) -> bool:
    query = delete(sidebar_items).where(sidebar_items.c.id_item == item_id)
    return (await conn.execute(query)).rowcount > 0


async def is_assigned(conn: AsyncConnection, *, item_id: int, role_id: int) -> bool:
    query = select(role_sidebar_items.c.item_id).where(
        role_sidebar_items.c.item_id == item_id, role_sidebar_items.c.role_id == role_id
    )
    return (await conn.execute(query)).first() is not None


async def assign(conn: AsyncConnection, *, item_id: int, role_id: int) -> None:
    await conn.execute(insert(role_sidebar_items).values(item_id=item_id, role_id=role_id))


async def unassign(conn: AsyncConnection, *, item_id: int, role_id: int) -> bool:
    query = delete(role_sidebar_items).where(
        role_sidebar_items.c.item_id == item_id, role_sidebar_items.c.role_id == role_id
    )
    return (await conn.execute(query)).rowcount > 0
