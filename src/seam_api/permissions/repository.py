"""The SQL of the permissions table and the role-permission assignments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.db import containing, sorted_by
from seam_api.models import permissions, role_permissions
from seam_api.permissions.schemas import PermissionFilters

_PUBLIC = (permissions.c.id_permission, permissions.c.name_uri, permissions.c.description)


_SORTABLE: dict[str, ColumnElement[Any]] = {
    "idPermission": permissions.c.id_permission,
    "nameUri": permissions.c.name_uri,
    "description": permissions.c.description,
}


async def list_all(conn: AsyncConnection, *, filters: PermissionFilters) -> Sequence[RowMapping]:
    order = sorted_by(filters.sort, _SORTABLE, permissions.c.id_permission)
    query = select(*_PUBLIC).order_by(*order)
    searched = (permissions.c.name_uri, permissions.c.description)
    if (matches := containing(filters.search, *searched)) is not None:
        query = query.where(matches)
    rows: Sequence[RowMapping] = (await conn.execute(query)).mappings().all()
    return rows


async def list_for_role(conn: AsyncConnection, *, role_id: int) -> Sequence[RowMapping]:
    query = (
        select(*_PUBLIC)
        .join(role_permissions, role_permissions.c.permission_id == permissions.c.id_permission)
        .where(role_permissions.c.role_id == role_id)
        .order_by(permissions.c.id_permission)
    )
    return (await conn.execute(query)).mappings().all()


async def name_uris_for_role(conn: AsyncConnection, *, role_id: int) -> list[str]:
    return [row["name_uri"] for row in await list_for_role(conn, role_id=role_id)]


async def get(
    conn: AsyncConnection, *, permission_id: int, lock: bool = False
) -> RowMapping | None:
    """One permission; `lock`ed until the transaction ends, for a delete."""
    query = select(*_PUBLIC).where(permissions.c.id_permission == permission_id)
    return (await conn.execute(query.with_for_update() if lock else query)).mappings().first()


async def find_by_name_uri(conn: AsyncConnection, *, name_uri: str) -> Sequence[RowMapping]:
    query = select(*_PUBLIC).where(permissions.c.name_uri_key == name_uri.lower())
    return (await conn.execute(query)).mappings().all()


async def create(conn: AsyncConnection, *, name_uri: str, description: str | None) -> int:
    result = await conn.execute(
        insert(permissions).values(
            name_uri=name_uri, name_uri_key=name_uri.lower(), description=description
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def delete_one(conn: AsyncConnection, *, permission_id: int) -> bool:
    query = delete(permissions).where(permissions.c.id_permission == permission_id)
    return (await conn.execute(query)).rowcount > 0


async def is_assigned(conn: AsyncConnection, *, role_id: int, permission_id: int) -> bool:
    query = select(role_permissions.c.role_id).where(
        role_permissions.c.role_id == role_id,
        role_permissions.c.permission_id == permission_id,
    )
    return (await conn.execute(query)).first() is not None


async def assign(conn: AsyncConnection, *, role_id: int, permission_id: int) -> None:
    await conn.execute(
        insert(role_permissions).values(role_id=role_id, permission_id=permission_id)
    )


async def unassign(conn: AsyncConnection, *, role_id: int, permission_id: int) -> bool:
    query = delete(role_permissions).where(
        role_permissions.c.role_id == role_id,
        role_permissions.c.permission_id == permission_id,
    )
    return (await conn.execute(query)).rowcount > 0
