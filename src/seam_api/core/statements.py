"""Statements built once for hot paths, run on asyncpg itself on PostgreSQL.

SQLAlchemy's asyncpg adapter costs about 100 µs of CPU per statement (a greenlet, an execution
context, a cursor and a result object each time), about three times what asyncpg costs for the
same statement, and under load an instance's writes are bound by its one core. A
`DriverStatement` is built with SQLAlchemy Core like any other, compiled once, and run by
asyncpg on the connection's own driver connection, inside the block's transaction (core/db.py
runs `BEGIN` and `COMMIT` there). Only public API is used: the compiled SQL with its
`positiontup` and `params`, and asyncpg's `fetchrow()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, Dialect, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.db import DRIVER_ERRORS, driver_connection, refuse_unstorable, translated


class DriverStatement:
    """A statement that returns at most one row, as a dict. On one of `Database`'s PostgreSQL
    connections asyncpg runs it; anywhere else, and wherever a column would need one of
    SQLAlchemy's conversions, SQLAlchemy does. Either way the same rules hold: text no database
    can store is a 400, and a driver's error arrives as SQLAlchemy's (`IntegrityError` for a
    broken constraint, an invalidated connection for a lost one)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: tuple[Dialect, str, list[tuple[str, bool, Any]]] | None = None

    async def row(
        self, conn: AsyncConnection, parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        driver = driver_connection(conn)
        if driver is not None:
            compiled = self._compiled
            if compiled is None or compiled[0] is not conn.dialect:
                compiled = self._compiled = _compile(self.statement, conn.dialect)
            _, sql, order = compiled
            if sql:
                refuse_unstorable(parameters.values())
                arguments = [
                    parameters[name] if required else parameters.get(name, default)
                    for name, required, default in order
                ]
                try:
                    record = await driver.fetchrow(sql, *arguments)
                except DRIVER_ERRORS as error:
                    raise translated(error, driver, sql, arguments) from error
                return None if record is None else dict(record)
        found = (await conn.execute(self.statement, parameters)).mappings().first()
        return None if found is None else dict(found)


def _compile(statement: Any, dialect: Dialect) -> tuple[Dialect, str, list[tuple[str, bool, Any]]]:
    """The SQL and its parameters in order (each named, whether the caller must give it, and
    its built-in value), or no SQL when a parameter or a returned column needs one of
    SQLAlchemy's conversions, or a column left out needs its Python-side default computed at
    each run. A required parameter left out is a KeyError, as SQLAlchemy would refuse it."""
    compiled = statement.compile(dialect=dialect)
    needs_sqlalchemy = (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or any(
            bind.expanding or bind.type.dialect_impl(dialect).bind_processor(dialect) is not None
            for bind in compiled.binds.values()
        )
        or any(
            column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
            for column in statement.exported_columns
        )
    )
    if needs_sqlalchemy or compiled.positiontup is None:
        return dialect, "", []
    defaults, binds = compiled.params, compiled.binds
    order = [
        (name, name in binds and binds[name].required, defaults.get(name))
        for name in compiled.positiontup
    ]
    return dialect, str(compiled), order


class RowUpdates:
    """UPDATEs of one row of `table` by its `key`, one statement per set of columns, built
    once, answering the row's `returned` columns as saved: in the same statement where the
    database can return them (RETURNING), else read back. `also` are SET terms every one of
    them carries (`token_version + 1`, say)."""

    def __init__(
        self,
        table: Table,
        key: Column[Any],
        returned: tuple[Any, ...],
        *,
        also: Mapping[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.key = key
        self.returned = returned
        self.also = dict(also or {})
        self._read = DriverStatement(select(*returned).where(key == bindparam("key")))
        self._built: dict[tuple[frozenset[str], bool], DriverStatement] = {}

    async def apply(
        self, conn: AsyncConnection, key: object, values: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Write `values` (column names to values); None when no row has `key`."""
        returning = conn.dialect.update_returning
        columns = frozenset(values)
        statement = self._built.get((columns, returning))
        if statement is None:
            built = (
                update(self.table)
                .where(self.key == bindparam("key"))
                .values({**{name: bindparam(f"new_{name}") for name in columns}, **self.also})
            )
            if returning:
                built = built.returning(*self.returned)
            statement = self._built[columns, returning] = DriverStatement(built)
        parameters = {"key": key, **{f"new_{name}": value for name, value in values.items()}}
        if returning:
            return await statement.row(conn, parameters)
        await conn.execute(statement.statement, parameters)
        return await self._read.row(conn, {"key": key})
