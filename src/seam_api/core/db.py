"""The engine, connections and the transaction helper; SQL itself lives in repositories.

SQLAlchemy Core on an async engine: rows come back as mappings and go straight into the
contract's schemas, without an ORM identity map on the hot path.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
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
            options = {"connect_args": {"timeout": 30}}
        else:
            options.update(pool_size=10, max_overflow=20, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

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
        """One transaction: committed when the block ends, rolled back if it raises."""
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys are off by default in SQLite; WAL lets readers run beside a writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
