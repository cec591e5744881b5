"""The SQL of the projects, and only here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.extending.projects.models import projects


async def list_all(conn: AsyncConnection) -> Sequence[RowMapping]:
    query = select(projects).order_by(projects.c.id_project)
    return (await conn.execute(query)).mappings().all()


async def get(conn: AsyncConnection, *, project_id: int, lock: bool = False) -> RowMapping | None:
    query = select(projects).where(projects.c.id_project == project_id)
    if lock:  # an edit's read: a concurrent edit waits until this transaction ends
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def create(conn: AsyncConnection, *, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(projects).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_fields(conn: AsyncConnection, *, project_id: int, values: dict[str, Any]) -> None:
    query = update(projects).where(projects.c.id_project == project_id).values(**values)
    await conn.execute(query)


async def delete_one(conn: AsyncConnection, *, project_id: int) -> None:
    await conn.execute(delete(projects).where(projects.c.id_project == project_id))
