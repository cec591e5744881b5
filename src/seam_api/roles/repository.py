"""The SQL of the roles table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.db import containing, sorted_by
from seam_api.core.statements import DriverStatement, RowUpdates
from seam_api.models import roles, users
from seam_api.roles.schemas import RoleFilters

_PUBLIC = (roles.c.id_role, roles.c.role_name, roles.c.description, roles.c.require_mfa)


def name_key(role_name: str) -> str:
    """What makes two role names the same: Unicode case folding (`Árbol` = `árbol`), done
    here because SQL lower() differs per database."""
    return role_name.casefold()


_SORTABLE: dict[str, ColumnElement[Any]] = {
    "idRole": roles.c.id_role,
    "roleName": roles.c.role_name,
    "description": roles.c.description,
}


async def list_all(conn: AsyncConnection, *, filters: RoleFilters) -> Sequence[RowMapping]:
    query = select(*_PUBLIC).order_by(*sorted_by(filters.sort, _SORTABLE, roles.c.id_role))
    if (matches := containing(filters.search, roles.c.role_name, roles.c.description)) is not None:
        query = query.where(matches)
    rows: Sequence[RowMapping] = (await conn.execute(query)).mappings().all()
    return rows


async def all_ids(conn: AsyncConnection) -> list[int]:
    return list((await conn.execute(select(roles.c.id_role))).scalars().all())


_ONE_QUERY = select(*_PUBLIC).where(roles.c.id_role == bindparam("role_id"))  # built once: hot
_ONE, _ONE_LOCKED = DriverStatement(_ONE_QUERY), DriverStatement(_ONE_QUERY.with_for_update())


async def get(conn: AsyncConnection, *, role_id: int, lock: bool = False) -> dict[str, Any] | None:
    """One role; `lock`ed until the transaction ends, for an edit or a delete, so that what it
    read is what it changes (users/repository.py says why)."""
    return await (_ONE_LOCKED if lock else _ONE).row(conn, {"role_id": role_id})


async def get_by_name(conn: AsyncConnection, *, role_name: str) -> RowMapping | None:
    query = select(*_PUBLIC).where(roles.c.role_name_key == name_key(role_name))
    return (await conn.execute(query)).mappings().first()


async def create(conn: AsyncConnection, *, role_name: str, description: str | None) -> int:
    values = {"role_name": role_name, "role_name_key": name_key(role_name)}
    result = await conn.execute(insert(roles).values(**values, description=description))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


_UPDATES = RowUpdates(roles, roles.c.id_role, _PUBLIC)


async def update_and_get(
    conn: AsyncConnection, *, role_id: int, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Write `values`, answering the role as saved (None when no such role)."""
    if "role_name" in values:
        values = {**values, "role_name_key": name_key(values["role_name"])}
    return await _UPDATES.apply(conn, role_id, values)


async def delete_one(conn: AsyncConnection, *, role_id: int) -> bool:
    result = await conn.execute(delete(roles).where(roles.c.id_role == role_id))
    return result.rowcount > 0


async def count_holders(conn: AsyncConnection, *, role_id: int) -> int:
    """How many users hold the role (one that is held cannot be deleted)."""
    query = select(func.count()).select_from(users).where(users.c.role_id == role_id)
    return int((await conn.execute(query)).scalar_one())
