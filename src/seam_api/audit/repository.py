"""The SQL that reads the event log as an audit trail (realtime/eventlog.py writes it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.audit.schemas import AuditFilters, epoch_ms
from seam_api.models import events

_COLUMNS = (
    events.c.event_id,
    events.c.operation,
    events.c.message,
    events.c.actor_id,
    events.c.actor_email,
    events.c.actor_key_id,
    events.c.ip,
    events.c.user_agent,
    events.c.request_id,
    events.c.entity,
    events.c.entity_id,
    events.c.changes,
    events.c.occurred_at,
)


def _filtered(filters: AuditFilters) -> Select[Any]:
    query = select(*_COLUMNS)
    if filters.actor_id is not None:
        query = query.where(events.c.actor_id == filters.actor_id)
    if filters.actor_email is not None:
        query = query.where(events.c.actor_email == filters.actor_email)
    if filters.operation is not None:
        query = query.where(events.c.operation == filters.operation)
    if filters.entity is not None:
        query = query.where(events.c.entity == filters.entity)
    if filters.entity_id is not None:
        query = query.where(events.c.entity_id == filters.entity_id)
    if filters.occurred_from is not None:
        query = query.where(events.c.occurred_at >= epoch_ms(filters.occurred_from))
    if filters.occurred_to is not None:
        query = query.where(events.c.occurred_at <= epoch_ms(filters.occurred_to))
    if filters.before is not None:
        query = query.where(events.c.event_id < filters.before)
    return query


async def list_newest(
    conn: AsyncConnection, *, filters: AuditFilters, limit: int
) -> Sequence[RowMapping]:
    query = _filtered(filters).order_by(events.c.event_id.desc()).limit(limit)
    rows: Sequence[RowMapping] = (await conn.execute(query)).mappings().all()
    return rows


async def list_oldest_after(
    conn: AsyncConnection, *, filters: AuditFilters, after: int, limit: int
) -> Sequence[RowMapping]:
    """One page of an export, in id order, resuming after the last id sent."""
    query = (
        _filtered(filters).where(events.c.event_id > after).order_by(events.c.event_id).limit(limit)
    )
    rows: Sequence[RowMapping] = (await conn.execute(query)).mappings().all()
    return rows


async def get(conn: AsyncConnection, *, event_id: int) -> RowMapping | None:
    query = select(*_COLUMNS).where(events.c.event_id == event_id)
    return (await conn.execute(query)).mappings().first()
