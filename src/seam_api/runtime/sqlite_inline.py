"""SQLite write transactions run on the event loop's thread, not through aiosqlite's thread.

aiosqlite runs every call on a thread of its own: SQLAlchemy's adapter makes four calls a
statement (cursor, execute, fetch, close), each a hand-off to that thread and a wake-up of the
loop. An edit's five statements, its commit and its rollback cost 22 such hops, several times
the work SQLite does for them (a statement on a small row takes tens of microseconds). This
connection offers the calls SQLAlchemy's aiosqlite adapter makes and answers them at once, on
the calling thread; SQLAlchemy is handed it through `create_async_engine(async_creator=...)`.

It serves only `Database.transaction()`: writes are short and already take turns in the
process, so nothing waits behind them but other writers. Reads keep aiosqlite, where a long
scan cannot hold the loop. Two rules keep the loop responsive:

- The write lock is taken at the first statement with `BEGIN IMMEDIATE` and SQLite's busy
  handler is off: another process holding the lock (a CLI command, a backup) is waited for
  with `asyncio.sleep`, never inside SQLite.
- A long transaction (a bulk import) hands the loop a turn every `YIELD_EVERY` seconds.

What it leans on (SQLAlchemy's aiosqlite adapter calling exactly these methods, and reading
`_connection` to tell an open connection) is checked by runtime/gate.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

BUSY_WAIT_LIMIT = 30.0  # seconds, as the threaded connections' busy_timeout
YIELD_EVERY = 0.005  # seconds of SQLite work between two turns handed to the loop
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class InlineCursor:
    """The async cursor SQLAlchemy's adapter expects, answering at once."""

    def __init__(self, connection: InlineConnection) -> None:
        self._owner = connection
        self._cursor = connection.raw.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await self._owner.ready_to_write(sql)
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        await self._owner.ready_to_write(sql)
        self._cursor.executemany(sql, rows)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The async connection SQLAlchemy's aiosqlite adapter expects, on the loop's thread."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self._connection: sqlite3.Connection | None = raw  # read by SQLAlchemy's adapter
        self._slice_started = 0.0

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def ready_to_write(self, sql: str) -> None:
        """Open the transaction with the write lock, waiting for another process on the loop;
        and hand the loop a turn when this transaction has held it for a while."""
        if self.raw.in_transaction:
            if time.perf_counter() - self._slice_started > YIELD_EVERY:
                await asyncio.sleep(0)
                self._slice_started = time.perf_counter()
            return
        if _is_pragma(sql):
            return  # set-up statements run outside a transaction
        waited, pause = 0.0, 0.001
        while True:
            try:
                self.raw.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode not in _BUSY or waited >= BUSY_WAIT_LIMIT:
                    raise
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.05)
        self._slice_started = time.perf_counter()

    async def commit(self) -> None:
        if self.raw.in_transaction:
            self.raw.commit()

    async def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.rollback()

    async def close(self) -> None:
        self._connection = None
        self.raw.close()

    def stop(self) -> None:
        """SQLAlchemy's forced close of a connection it gave up on."""
        self._connection = None
        self.raw.close()

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], deterministic: bool = False
    ) -> None:
        self.raw.create_function(name, num_params, func, deterministic=deterministic)


def _is_pragma(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "PRAGMA"


def connector(path: str) -> Callable[[], Any]:
    """The `async_creator` for SQLAlchemy: a connection to the file at `path` in autocommit
    mode (this module opens the transactions), with SQLite's busy handler off."""

    async def connect() -> InlineConnection:
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        return InlineConnection(raw)

    return connect
