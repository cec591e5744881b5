"""SQLite writes on the loop's thread (runtime/sqlite_inline.py): the same answers as through
aiosqlite, and a loop that keeps running while another process holds the lock or while a long
transaction works."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from seam_api.core.db import Database
from seam_api.runtime import sqlite_inline


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}", sqlite_writer=sqlite_inline.connector
    )
    async with database.transaction() as conn:
        await conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield database
    await database.dispose()


async def ticks_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How many times another task got the loop while `work` ran."""
    count = 0
    while not work.done():
        count += 1
        await asyncio.sleep(0)
    await work
    return count


async def test_writes_run_on_the_inline_connection_and_reads_on_aiosqlite(db: Database) -> None:
    async with db.transaction() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_inline.InlineConnection)
        await conn.execute(text("INSERT INTO items (name) VALUES ('one')"))
    async with db.read() as conn:
        raw = await conn.get_raw_connection()
        assert not isinstance(raw.driver_connection, sqlite_inline.InlineConnection)
        assert (await conn.execute(text("SELECT name FROM items"))).scalar_one() == "one"


async def test_a_failed_transaction_leaves_nothing_and_raises_what_aiosqlite_raises(
    db: Database,
) -> None:
    async with db.transaction() as conn:
        await conn.execute(text("INSERT INTO items (name) VALUES ('taken')"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO items (name) VALUES ('kept out')"))
            await conn.execute(text("INSERT INTO items (name) VALUES ('taken')"))
    async with db.read() as conn:
        names = (await conn.execute(text("SELECT name FROM items"))).scalars().all()
    assert names == ["taken"]


async def test_a_lock_held_by_another_process_is_waited_for_on_the_loop(
    db: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    threading.Timer(0.3, other.commit).start()

    async def write() -> None:
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO items (name) VALUES ('after the lock')"))

    try:
        ticks = await ticks_while(asyncio.ensure_future(write()))
    finally:
        other.close()
    assert ticks > 10  # the loop ran meanwhile: SQLite's busy handler would have held it
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one() == 1


async def test_a_long_transaction_hands_the_loop_turns(db: Database) -> None:
    async def bulk() -> None:
        async with db.transaction() as conn:
            for number in range(20_000):
                await conn.execute(
                    text("INSERT INTO items (name) VALUES (:name)"), {"name": f"row {number}"}
                )

    ticks = await ticks_while(asyncio.ensure_future(bulk()))
    assert ticks > 20  # without the turns: a handful, at the pool and the commit
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one() == 20_000


async def test_a_transaction_nested_in_its_own_task_is_a_savepoint(db: Database) -> None:
    async with db.transaction() as outer:
        await outer.execute(text("INSERT INTO items (name) VALUES ('outer')"))
        with pytest.raises(IntegrityError):
            async with db.transaction() as inner:
                await inner.execute(text("INSERT INTO items (name) VALUES ('inner')"))
                await inner.execute(text("INSERT INTO items (name) VALUES ('outer')"))
    async with db.read() as conn:
        names = (await conn.execute(text("SELECT name FROM items"))).scalars().all()
    assert names == ["outer"]  # the savepoint's rows went, the outer's stayed
