"""The event log: one table that is the audit trail, the replay source and the relay.

A mutation appends its record inside its own transaction (a transactional outbox), so a record
never exists without its change and a rolled-back change leaves none. Numbering is the hard
part: an auto-increment id is handed out when a row is inserted, not when it commits, so a
reader could see 101 before 100 commits and skip 100 forever. Here the id comes from the one
row of `event_sequence`, incremented as the last write before commit. The row lock (PostgreSQL,
MariaDB) or the single writer (SQLite) makes the next writer wait for this commit, so ids are
taken in commit order, and a reader that sees id N sees every id below it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import RowMapping, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.context import RequestContext
from seam_api.core.db import Database
from seam_api.core.statements import DriverStatement
from seam_api.models import event_sequence, events

PRUNE_BATCH = 1000

Changes = dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A committed `data:changed`: what every socket is sent, and when it happened."""

    event_id: int
    payload: dict[str, Any]
    occurred_at: int  # epoch milliseconds


@dataclass(frozen=True, slots=True)
class Touched:
    """What one committed entry changed, for the caches of the instances that read it from
    the log rather than making it (see `Seam.follow_log`)."""

    operation: str
    entity: str
    entity_id: str | None
    broadcast: bool


def changes_between(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    fields: Iterable[str],
    secrets: Iterable[str] = (),
) -> Changes:
    """`{field: [before, after]}` for each field that differs; a created entity has `None`
    before, a deleted one `None` after. A secret field appears by name with null values:
    that it changed is audit, what it was or became is not."""
    changes: Changes = {}
    for field in fields:
        old = None if before is None else before.get(field)
        new = None if after is None else after.get(field)
        if old != new:
            changes[field] = [old, new]
    for field in secrets:
        changes[field] = [None, None]
    return changes


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class EventLog:
    """Appends records in the caller's transaction and reads committed ones in id order."""

    def __init__(self, db: Database, *, record_addresses: bool) -> None:
        self.db = db
        self.record_addresses = record_addresses

    async def append(
        self,
        conn: AsyncConnection,
        *,
        context: RequestContext | None,
        operation: str,
        message: str,
        entity: str,
        entity_id: object,
        changes: Changes,
        payload: dict[str, Any] | None = None,
        actor_id: int | None = None,
        actor_email: str | None = None,
    ) -> LoggedEvent | int:
        """Write one record; call it as the last statement of the transaction, since the
        sequence row stays locked until the commit. `payload` (the `data:changed` event, which
        gains `eventId`) makes it a broadcast; without one it is an audit entry only. Returns
        the broadcast event, or the id of an audit-only entry."""
        occurred_at = now_ms()
        addresses = self.record_addresses and context is not None
        entry = {
            "operation": operation,
            "message": message[:255],
            "actor_id": actor_id if actor_id is not None else context and context.user_id,
            "actor_email": actor_email
            if actor_email is not None
            else context and context.user_email,
            "actor_key_id": context.key_id if context else None,
            "ip": context.client_address if addresses and context else None,
            "user_agent": context.user_agent if addresses and context else None,
            "request_id": context.request_id if context else None,
            "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "changes": orjson.dumps(changes).decode(),
            # Stored without its `eventId`, which the id column holds (`_logged` adds it back):
            # on PostgreSQL the id is not known until the statement that writes the row runs.
            "payload": None if payload is None else orjson.dumps(payload).decode(),
            "occurred_at": occurred_at,
        }
        if conn.dialect.name == "postgresql":
            # One statement takes the next id and writes the row: the sequence row (and the
            # rows the transaction changed before) stay locked one round trip less.
            appended = await _APPEND.row(conn, entry)
            assert appended is not None  # an INSERT ... RETURNING answers the row it wrote
            event_id = int(appended["event_id"])
        else:
            event_id = await _next_id(conn)
            await conn.execute(_INSERT, {"event_id": event_id, **entry})
        if payload is None:
            return event_id
        payload = {**payload, "eventId": str(event_id)}
        return LoggedEvent(event_id=event_id, payload=payload, occurred_at=occurred_at)

    async def latest(self) -> int:
        """The highest committed id: every id up to it is committed and readable."""
        async with self.db.read() as conn:
            value = await conn.scalar(select(event_sequence.c.last_id).where(_the_row()))
        return int(value or 0)

    async def after(
        self, cursor: int, *, limit: int
    ) -> tuple[list[LoggedEvent], int, list[Touched]]:
        """The broadcasts committed after `cursor`, in order, the highest id read (audit-only
        entries advance a follower's cursor too), and what every entry read touched."""
        query = (
            select(
                events.c.event_id,
                events.c.payload,
                events.c.occurred_at,
                events.c.operation,
                events.c.entity,
                events.c.entity_id,
            )
            .where(events.c.event_id > cursor)
            .order_by(events.c.event_id)
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        last = int(rows[-1]["event_id"]) if rows else cursor
        touched = [
            Touched(row["operation"], row["entity"], row["entity_id"], row["payload"] is not None)
            for row in rows
        ]
        return [_logged(row) for row in rows if row["payload"] is not None], last, touched

    async def missed(
        self, cursor: int, *, limit: int, window_ms: int
    ) -> tuple[list[LoggedEvent], int] | str:
        """What a client whose last event was `cursor` missed, up to a covered id; or the reason
        replay cannot answer: the cursor is unknown, pruned, too old or too far behind."""
        async with self.db.read() as conn:
            latest = int(await conn.scalar(select(event_sequence.c.last_id).where(_the_row())) or 0)
            if cursor > latest:
                return "unknown_cursor"
            oldest = await conn.scalar(select(func.min(events.c.event_id)))
            if cursor and oldest is not None and cursor >= int(oldest):
                # Every id a client holds named an entry; one that names none comes from a
                # stretch a restore took back (ops/backup.py): that client must reload.
                named = select(events.c.event_id).where(events.c.event_id == cursor)
                if await conn.scalar(named) is None:
                    return "unknown_cursor"
            if cursor == latest:
                return [], latest
            if oldest is None or cursor < int(oldest) - 1:
                return "too_old"
            rows = (
                (
                    await conn.execute(
                        select(events.c.event_id, events.c.payload, events.c.occurred_at)
                        .where(events.c.event_id > cursor, events.c.event_id <= latest)
                        .where(events.c.payload.is_not(None))
                        .order_by(events.c.event_id)
                        .limit(limit + 1)
                    )
                )
                .mappings()
                .all()
            )
        if len(rows) > limit:
            return "too_many"
        if rows and rows[0]["occurred_at"] < now_ms() - window_ms:
            return "too_old"
        return [_logged(row) for row in rows], latest

    async def prune(self, *, older_than_ms: int) -> int:
        """Delete entries older than the cut-off in short batches of ids, so no statement holds
        its locks for long. Each batch starts at the oldest id that has expired, not at the
        oldest id: an entry not expired yet (written by an instance whose clock is ahead) no
        longer stops pruning at its batch for good. Every batch deletes at least its first."""
        removed = 0
        while True:
            async with self.db.transaction() as conn:
                first = await conn.scalar(
                    select(func.min(events.c.event_id)).where(events.c.occurred_at < older_than_ms)
                )
                if first is None:
                    return removed
                result = await conn.execute(
                    delete(events).where(
                        events.c.event_id >= int(first),
                        events.c.event_id < int(first) + PRUNE_BATCH,
                        events.c.occurred_at < older_than_ms,
                    )
                )
            removed += result.rowcount


def _the_row() -> Any:
    return event_sequence.c.id == 1


# Built once: every mutation runs these, and building a statement costs more than running it.
_ADVANCE = update(event_sequence).where(_the_row()).values(last_id=event_sequence.c.last_id + 1)
_ADVANCE_RETURNING = _ADVANCE.returning(event_sequence.c.last_id)
_LAST_ID = select(event_sequence.c.last_id).where(_the_row())
_INSERT = insert(events)
_NEXT_ID = _ADVANCE_RETURNING.cte("next_event_id")
_ENTRY_COLUMNS = [column for column in events.c if column.name != "event_id"]
# PostgreSQL runs a data-modifying WITH: `WITH next AS (UPDATE ... RETURNING) INSERT ... SELECT`.
_APPEND = DriverStatement(
    insert(events)
    .from_select(
        ["event_id", *(column.name for column in _ENTRY_COLUMNS)],
        select(
            _NEXT_ID.c.last_id,
            *(bindparam(column.name, type_=column.type) for column in _ENTRY_COLUMNS),
        ),
    )
    .returning(events.c.event_id)
)


async def _next_id(conn: AsyncConnection) -> int:
    if conn.dialect.update_returning:
        return int((await conn.execute(_ADVANCE_RETURNING)).scalar_one())
    await conn.execute(_ADVANCE)
    return int(await conn.scalar(_LAST_ID) or 0)


def _logged(row: RowMapping) -> LoggedEvent:
    return LoggedEvent(
        event_id=int(row["event_id"]),
        payload={**orjson.loads(row["payload"]), "eventId": str(row["event_id"])},
        occurred_at=int(row["occurred_at"]),
    )
