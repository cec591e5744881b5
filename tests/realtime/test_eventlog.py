"""The event log's numbering on every database: ids follow commit order, so a reader that
follows the log by cursor never skips an entry, however writers on several connections and
instances interleave; a rolled-back write leaves neither an entry nor a gap."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from seam_api.core import migrate
from seam_api.core.db import Database
from seam_api.realtime.eventlog import EventLog, LoggedEvent, changes_between
from tests.conftest import Databases

INSTANCES = 2
WRITERS_PER_INSTANCE = 4
WRITES_PER_WRITER = 12


def _sqlite_path(url: str) -> Path | None:
    return Path(url.split("///", 1)[1]) if url.startswith("sqlite") else None


async def _migrated(databases: Databases, backend: str) -> tuple[str, list[Database]]:
    url = await databases.create(backend)
    instances = [Database(url) for _ in range(INSTANCES)]
    await migrate.upgrade(instances[0], _sqlite_path(url))
    return url, instances


async def _write(log: EventLog, writer: int, rng: random.Random) -> list[int]:
    """Entries whose transactions stay open a random while after taking their id, as a slow
    commit would: with ids handed out at insert, a later id would commit first."""
    ids = []
    for _ in range(WRITES_PER_WRITER):
        await asyncio.sleep(rng.random() * 0.005)
        async with log.db.transaction() as conn:
            logged = await log.append(
                conn,
                context=None,
                operation="role:edit",
                message=f"writer {writer}",
                entity="role",
                entity_id=writer,
                changes={},
                payload={"operation": "role:edit", "message": "", "data": None},
            )
            await asyncio.sleep(rng.random() * 0.01)
        assert not isinstance(logged, int)
        ids.append(logged.event_id)
    return ids


async def test_a_cursor_reader_sees_every_id_in_order_while_writers_race(
    databases: Databases, backend: str
) -> None:
    _url, instances = await _migrated(databases, backend)
    logs = [EventLog(db, record_addresses=False) for db in instances]
    rng = random.Random(7)
    seen: list[int] = []
    misnamed: list[LoggedEvent] = []  # read back with another id in the payload than its own
    writing = True

    async def follow() -> None:
        reader = EventLog(Database(_url), record_addresses=False)
        cursor = 0
        try:
            while writing or cursor < total_written():
                events, last, _touched = await reader.after(cursor, limit=5)
                seen.extend(event.event_id for event in events)
                misnamed.extend(e for e in events if e.payload["eventId"] != str(e.event_id))
                cursor = last
                await asyncio.sleep(0)
        finally:
            await reader.db.dispose()

    written: list[list[int]] = []

    def total_written() -> int:
        return sum(len(ids) for ids in written)

    try:
        follower = asyncio.create_task(follow())
        written = await asyncio.gather(
            *(
                _write(logs[i % INSTANCES], i, random.Random(rng.random()))
                for i in range(INSTANCES * WRITERS_PER_INSTANCE)
            )
        )
        writing = False
        await asyncio.wait_for(follower, 60)
    finally:
        for db in instances:
            await db.dispose()

    total = INSTANCES * WRITERS_PER_INSTANCE * WRITES_PER_WRITER
    assert sorted(i for ids in written for i in ids) == list(range(1, total + 1))
    assert seen == list(range(1, total + 1)), "the reader skipped or repeated an id"
    assert misnamed == []


async def test_a_rolled_back_write_leaves_no_entry_and_no_gap(
    databases: Databases, backend: str
) -> None:
    _url, instances = await _migrated(databases, backend)
    log = EventLog(instances[0], record_addresses=False)
    try:
        with pytest.raises(RuntimeError):
            async with log.db.transaction() as conn:
                await log.append(
                    conn, context=None, operation="role:create", message="", entity="role",
                    entity_id=1, changes={},
                )  # fmt: skip
                raise RuntimeError("the change failed after its entry was written")
        async with log.db.transaction() as conn:
            kept = await log.append(
                conn, context=None, operation="role:create", message="", entity="role",
                entity_id=2, changes={},
            )  # fmt: skip
        events, last, _touched = await log.after(0, limit=10)
    finally:
        for db in instances:
            await db.dispose()
    assert kept == 1 and last == 1 and events == []  # an audit-only entry is not a broadcast


def test_changes_name_secrets_without_their_values() -> None:
    before = {"full_name": "Ann", "email": "a@x.io"}
    after = {"full_name": "Ann B", "email": "a@x.io"}
    assert changes_between(before, after, fields=("full_name", "email"), secrets=("password",)) == {
        "full_name": ["Ann", "Ann B"],
        "password": [None, None],
    }
    assert changes_between(None, after, fields=("email",)) == {"email": [None, "a@x.io"]}
