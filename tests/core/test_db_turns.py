"""On SQLite, the process's transactions take turns (its one writer), and a task that holds the
turn can open another transaction without waiting for itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from seam_api.core.db import Database


async def test_sqlite_transactions_of_one_process_take_turns(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    inside = most = 0

    async def write() -> None:
        nonlocal inside, most
        async with db.transaction() as conn:
            inside += 1
            most = max(most, inside)
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)
            inside -= 1

    try:
        await asyncio.gather(*(write() for _ in range(5)))
    finally:
        await db.dispose()
    assert most == 1


async def test_a_nested_transaction_does_not_wait_for_its_own_task(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested.db'}")

    async def nested() -> int:
        async with db.transaction(), db.transaction() as inner:
            return int((await inner.execute(text("SELECT 1"))).scalar_one())

    try:
        assert await asyncio.wait_for(nested(), 5) == 1
    finally:
        await db.dispose()
