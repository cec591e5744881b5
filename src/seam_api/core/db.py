"""The engine, connections and the transaction helper; SQL itself lives in repositories.

SQLAlchemy Core on an async engine: rows come back as mappings and go straight into the
contract's schemas, without an ORM identity map on the hot path.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from seam_api.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)


def _is_unreachable(error: BaseException) -> bool:
    """A lost or refused connection, as opposed to a bad statement."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (OperationalError, InterfaceError, OSError, ConnectionError))


class Database:
    """One engine per app; `read()` for queries, `transaction()` for anything that writes."""

    def __init__(self, url: str) -> None:
        options: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            _create_private(make_url(url).database)
            options = {"connect_args": {"timeout": 30}}
        else:
            options.update(pool_size=10, max_overflow=20, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        # SQLite has one writer; writers that meet its lock sleep in its busy handler (1 to
        # 100 ms a try), so on SQLite this process's transactions take turns here instead.
        self._turn: asyncio.Lock | None = None
        self._turn_holder: asyncio.Task[Any] | None = None
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            self._turn = asyncio.Lock()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; an unreachable database becomes a 503."""
        try:
            async with self.engine.connect() as connection:
                yield connection
        except Exception as error:
            _raise_unavailable_if_unreachable(error)
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises. On SQLite,
        one at a time in this process (a task already holding the turn just opens another)."""
        task = asyncio.current_task()
        if self._turn is None or self._turn_holder is task:
            async with self._begin() as connection:
                yield connection
            return
        async with self._turn:
            self._turn_holder = task
            try:
                async with self._begin() as connection:
                    yield connection
            finally:
                self._turn_holder = None

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.begin() as connection:
                yield connection
        except Exception as error:
            _raise_unavailable_if_unreachable(error)
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def _raise_unavailable_if_unreachable(error: Exception) -> None:
    if _is_unreachable(error):
        log.warning("database unreachable: %s", type(error).__name__)
        raise ServiceUnavailable("errors.unavailable") from error


def _create_private(database: str | None) -> None:
    """Create a missing SQLite file readable by its owner only: it holds the password hashes.
    SQLite gives its -wal and -shm files the database file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    os.makedirs(os.path.dirname(database) or ".", exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys are off by default in SQLite; WAL lets readers run beside a writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
