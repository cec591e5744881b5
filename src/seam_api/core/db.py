"""The engine, connections and the transaction helper; SQL itself lives in repositories.

SQLAlchemy Core on an async engine: rows come back as mappings and go straight into the
contract's schemas, without an ORM identity map on the hot path. On PostgreSQL, a write's
`BEGIN` and `COMMIT` run on asyncpg itself, and so do the hottest statements
(core/statements.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, event, make_url, or_
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from seam_api.core.context import current
from seam_api.core.errors import FieldError, Invalid, ServiceUnavailable
from seam_api.core.outages import DATABASE
from seam_api.core.storable import storable_text
from seam_api.messages import t

log = logging.getLogger(__name__)


# "Cannot serve you now" as each server says it: PostgreSQL's SQLSTATEs (shutting down 57P01
# and 57P02, starting up 57P03, too many connections 53300, connection exceptions 08xxx), and
# MariaDB's error numbers (too many connections 1040, shutdown in progress 1053, cannot connect
# 2002/2003, gone away 2006, lost 2013). asyncpg's refusals reach SQLAlchemy as a plain DBAPI
# `Error`, not an `OperationalError`, so they are recognised by code.
_NOT_NOW_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_NOT_NOW_MARIADB = frozenset({1040, 1053, 2002, 2003, 2006, 2013})
RETRY_AFTER = 2  # seconds: a restart or a full pool usually clears within that


def _is_unreachable(error: BaseException) -> bool:
    """A lost, refused or not-yet-accepted connection, as opposed to a bad statement."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (OperationalError, InterfaceError, OSError, ConnectionError)):
        return True
    if isinstance(error, PoolTimeout):  # every pooled connection stayed busy: not now
        return True
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (OSError, ConnectionError)):
            return True
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(sqlstate, str) and (sqlstate in _NOT_NOW_SQLSTATES or sqlstate[:2] == "08"):
            return True
        code = cause.args[0] if cause.args else None
        if isinstance(code, int) and code in _NOT_NOW_MARIADB:
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


POOL_SIZE = 20  # connections an instance keeps to PostgreSQL or MariaDB

# Write transactions one instance runs at once on PostgreSQL or MariaDB; the rest queue here,
# in order. Twenty writers of one row all in the server thrash its lock queue (woken together,
# one wins) and their turn comes in no order: PUT /users/:id under 20 connections on
# PostgreSQL, 2 cores, measured 505-655 edits/s, p99 176-215 ms unbounded; 653-822, p99
# 32-44 ms with 4 (3 to 8 alike). Reads keep the pool's other connections.
WRITE_SLOTS = 4

# Opens SQLite write connections on the loop's thread, given the database file's path.
SqliteWriter = Callable[[str], Callable[[], Any]]


class Database:
    """One engine per app; `read()` for queries, `transaction()` for anything that writes.

    On SQLite, `sqlite_writer` (runtime/sqlite_inline.py, when runtime/gate.py lets it on)
    gives the writes an engine of their own whose one connection runs on the loop's thread."""

    def __init__(self, url: str, *, sqlite_writer: SqliteWriter | None = None) -> None:
        sqlite = url.startswith("sqlite")
        asyncpg = make_url(url).get_driver_name() == "asyncpg"
        # asyncpg learns of a closed connection by itself (its protocol reads the server's
        # farewell or the socket's end); pinging it on every checkout would cost each request
        # one more round trip. See `_replace_closed`.
        # A failed statement's parameters (a password hash, say) stay out of its error's text,
        # which an unexpected error's log line carries.
        options: dict[str, Any] = {"pool_pre_ping": not asyncpg, "hide_parameters": True}
        if sqlite:
            _create_private(make_url(url).database)
            options = {"connect_args": {"timeout": 30}, "hide_parameters": True}
        else:
            # Kept, never churned: a new PostgreSQL connection forks a server process, and
            # overflow connections closed on return made a busy instance open one every few
            # requests. Beyond 20 a request waits for one. Uncached reads under 50 connections,
            # against 10 kept + 20 overflow: 392-563 -> 488-698 req/s, p99 halved.
            options.update(pool_size=POOL_SIZE, max_overflow=0, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        # Reads on PostgreSQL in autocommit: no BEGIN before the first statement and no
        # ROLLBACK after the last, two round trips of three for a one-query read. Nothing is
        # lost: in READ COMMITTED, the default, each statement of a transaction takes a new
        # snapshot anyway, and reads take no locks. (MariaDB would pay a round trip to switch.)
        self._reader: AsyncEngine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT") if asyncpg else self.engine
        )
        # Writes on PostgreSQL too: SQLAlchemy's adapter then never opens a transaction of its
        # own, and `_begin` runs BEGIN and COMMIT on asyncpg, around every statement of the
        # block, SQLAlchemy's and `DriverStatement`'s alike.
        self._driver_transactions = asyncpg
        self._writer: AsyncEngine = self._reader if asyncpg else self.engine
        database = make_url(url).database if sqlite else None
        if sqlite_writer is not None and database and database != ":memory:":
            self._writer = create_async_engine(
                url, async_creator=sqlite_writer(database), pool_size=1, max_overflow=0
            )
            event.listen(self._writer.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self._writer.sync_engine, "connect", _no_busy_handler)
            event.listen(self._writer.sync_engine, "before_cursor_execute", _refuse_unstorable)
        event.listen(self.engine.sync_engine, "before_cursor_execute", _refuse_unstorable)
        if asyncpg:
            event.listen(self.engine.sync_engine, "checkout", _replace_closed)
            event.listen(self.engine.sync_engine, "connect", _keep_driver_at_hand)
        # SQLite has one writer; writers that meet its lock sleep in its busy handler (1 to
        # 100 ms a try), so on SQLite this process's transactions take turns here instead.
        self._turn: asyncio.Lock | None = None
        self._turn_holder: asyncio.Task[Any] | None = None
        self._turn_connection: AsyncConnection | None = None
        if sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            self._turn = asyncio.Lock()
        self._write_slots = asyncio.Semaphore(WRITE_SLOTS)
        self._writing: set[asyncio.Task[Any] | None] = set()

    @property
    def write_engine(self) -> AsyncEngine:
        """The engine `transaction()` runs on (on SQLite, maybe not `engine`'s)."""
        return self._writer

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; an unreachable database becomes a 503."""
        try:
            async with self._reader.connect() as connection:
                DATABASE.up()
                yield connection
        except Exception as error:
            _raise_unavailable_if_unreachable(error)
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends (after the running operation's log
        entry, its last statement), rolled back if it raises. On SQLite, one at a time in this
        process; one a task opens inside its own is a savepoint of it. On PostgreSQL and
        MariaDB, at most `WRITE_SLOTS` at a time in this process."""
        task = asyncio.current_task()
        if self._turn is None:
            if task in self._writing:  # nested: its slot is the outer transaction's
                async with self._begin() as connection:
                    yield connection
                    await _before_commit(connection)
                return
            async with self._write_slots:
                self._writing.add(task)
                try:
                    async with self._begin() as connection:
                        yield connection
                        await _before_commit(connection)
                finally:
                    self._writing.discard(task)
            return
        outer = self._turn_connection
        if self._turn_holder is task and outer is not None:
            # Nested in this task's own transaction: a savepoint of it, since a second
            # connection would wait for the write lock the outer one holds.
            async with outer.begin_nested():
                yield outer
            return
        async with self._turn:
            self._turn_holder = task
            try:
                async with self._begin() as connection:
                    self._turn_connection = connection
                    yield connection
                    await _before_commit(connection)
            finally:
                self._turn_holder = self._turn_connection = None

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            if self._driver_transactions:
                async with self._writer.connect() as connection, _driver_transaction(connection):
                    DATABASE.up()
                    yield connection
            else:
                async with self._writer.begin() as connection:
                    DATABASE.up()
                    yield connection
        except Exception as error:
            _raise_unavailable_if_unreachable(error)
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._writer is not self.engine:
            await self._writer.dispose()


async def _before_commit(connection: AsyncConnection) -> None:
    """The running operation's log entry, as the last statement of its transaction: the log's
    sequence row stays locked from there to the commit, so nothing else may follow it."""
    context = current()
    run = None if context is None else context.run
    if run is not None and run.before_commit is not None:
        recorded_in, write = run.before_commit
        if recorded_in is connection:
            run.before_commit = None
            await write()


def _replace_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled asyncpg connection the server has closed (a restart, an idle timeout) is
    replaced at checkout, as a pre-ping would, but from what asyncpg already knows: SQLAlchemy
    retries the checkout with a new connection on `DisconnectionError`."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


# -- PostgreSQL: transactions on asyncpg itself ---------------------------------------------
#
# A write's connection is in autocommit at SQLAlchemy's level, so SQLAlchemy's adapter never
# opens a transaction; `_driver_transaction` runs BEGIN and COMMIT on asyncpg around the block,
# and every statement of the block, SQLAlchemy's and core/statements.py's alike, runs on that
# one asyncpg connection inside it. Per user edit under load, with the hot statements of
# core/statements.py: 803-804 edits/s at 1,072-1,103 us of CPU each through SQLAlchemy, then
# 1,092-1,192 at 718-757 us. Only public API: the AUTOCOMMIT isolation level, the pool's
# `connect` event, `driver_connection`, and asyncpg's `transaction()`.

_DRIVER = "seam_api.asyncpg"  # where a pooled connection's `info` keeps its asyncpg connection


def _keep_driver_at_hand(dbapi_connection: Any, record: Any) -> None:
    record.info[_DRIVER] = dbapi_connection.driver_connection


DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


@asynccontextmanager
async def _driver_transaction(connection: AsyncConnection) -> AsyncIterator[None]:
    """BEGIN and COMMIT (ROLLBACK if the block raises) on asyncpg. The block's own error is the
    one that propagates, whatever the rollback meets, and a connection still in a transaction
    afterwards (a rollback cut short) is dropped, never pooled."""
    driver = connection.info[_DRIVER]
    transaction = driver.transaction()
    try:
        try:
            await transaction.start()
        except DRIVER_ERRORS as error:
            raise translated(error, driver, "BEGIN", ()) from error
        try:
            yield
        except BaseException:
            if not driver.is_closed():
                # Whatever the rollback meets (a connection a restart left mid-operation says
                # so with asyncpg's InternalClientError), the block's error is the one to tell.
                with suppress(Exception):
                    await transaction.rollback()
            raise
        try:
            await transaction.commit()
        except DRIVER_ERRORS as error:
            raise translated(error, driver, "COMMIT", ()) from error
    finally:
        if driver.is_in_transaction() or driver.is_closed():
            await connection.invalidate()


def translated(error: BaseException, driver: Any, sql: str, arguments: Any) -> DBAPIError:
    """A driver's error as SQLAlchemy would raise it, so that handlers see one kind: a broken
    constraint is an `IntegrityError` (409), a lost connection an invalidated one (503)."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    kind = IntegrityError if sqlstate.startswith("23") else DBAPIError
    return kind(
        sql,
        arguments,
        error,
        hide_parameters=True,
        connection_invalidated=driver.is_closed(),
    )


def driver_connection(conn: AsyncConnection) -> Any | None:
    """The asyncpg connection under one of `Database`'s own PostgreSQL connections, for
    statements that run on it directly (core/statements.py); None for any other connection,
    whose transaction, if any, would be SQLAlchemy's to open, not this block's."""
    driver = conn.info.get(_DRIVER)
    if driver is None:
        return None
    sync = conn.sync_connection
    autocommit = sync is not None and sync.get_execution_options().get("isolation_level")
    return driver if autocommit == "AUTOCOMMIT" else None


def _raise_unavailable_if_unreachable(error: Exception) -> None:
    if _is_unreachable(error):
        DATABASE.down("requests" if current() is not None else "background work", error)
        raise ServiceUnavailable("errors.unavailable", retry_after=RETRY_AFTER) from error


def _refuse_unstorable(
    _connection: Any,
    _cursor: Any,
    _statement: str,
    parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    """Text no database can store (core/storable.py) never reaches one: a 400, whatever the
    route, instead of PostgreSQL's 500 for a NUL or a driver's for a lone surrogate."""
    rows = parameters if isinstance(parameters, list) else [parameters]
    for row in rows:
        refuse_unstorable(row.values() if isinstance(row, dict) else row or ())


def refuse_unstorable(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, str) and not storable_text(value):
            problem = FieldError("body", t("validation.unstorable"))
            raise Invalid("errors.validation", errors=[problem])


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


def _no_busy_handler(dbapi_connection: Any, _record: Any) -> None:
    """The loop-thread writer waits for another process's lock on the loop, not in SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def sorted_by(
    sort: str, columns: Mapping[str, ColumnElement[Any]], tiebreak: ColumnElement[Any]
) -> tuple[ColumnElement[Any], ...]:
    """ORDER BY terms for a list's `sort` (`name`, or `-name` for descending), its id last in
    the same direction: equal values keep a stable order across pages, and one index
    (`column, id`) serves both directions."""
    column = columns[sort.removeprefix("-")]
    if sort.startswith("-"):
        return column.desc(), tiebreak.desc()
    return column.asc(), tiebreak.asc()


def containing(term: str | None, *columns: ColumnElement[Any]) -> ColumnElement[bool] | None:
    """Case-insensitive substring match of `term` on any of `columns`, with `%` and `_` read
    as plain characters; None when there is no term."""
    if not term:
        return None
    return or_(*(column.icontains(term, autoescape=True) for column in columns))
