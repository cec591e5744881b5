"""The SQL of the users table."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.db import containing, sorted_by
from seam_api.core.statements import DriverStatement, RowUpdates
from seam_api.models import roles, users
from seam_api.users.schemas import UserFilters

_PUBLIC_COLUMNS = (
    users.c.id_user,
    users.c.full_name,
    users.c.email,
    users.c.role_id,
    roles.c.role_name,
    roles.c.description.label("role_description"),
    users.c.is_active,
)
_with_role = select(*_PUBLIC_COLUMNS).join_from(users, roles, users.c.role_id == roles.c.id_role)


_SORTABLE: dict[str, ColumnElement[Any]] = {
    "idUser": users.c.id_user,
    "full_name": users.c.full_name,
    "email": users.c.email,
    "roleName": roles.c.role_name,
}


def _conditions(filters: UserFilters) -> list[ColumnElement[bool]]:
    conditions = []
    if (matches := containing(filters.search, users.c.full_name, users.c.email)) is not None:
        conditions.append(matches)
    if filters.role_id is not None:
        conditions.append(users.c.role_id == filters.role_id)
    if filters.is_active is not None:
        conditions.append(users.c.is_active == filters.is_active)
    return conditions


async def list_page(
    conn: AsyncConnection, *, offset: int, limit: int, filters: UserFilters
) -> Sequence[RowMapping]:
    query: Select[Any] = _with_role.where(*_conditions(filters))
    query = query.order_by(*sorted_by(filters.sort, _SORTABLE, users.c.id_user))
    rows: Sequence[RowMapping] = (
        (await conn.execute(query.offset(offset).limit(limit))).mappings().all()
    )
    return rows


async def count(conn: AsyncConnection, *, filters: UserFilters) -> int:
    """How many users match `filters` (no join: no filter needs the role's columns)."""
    query = select(func.count()).select_from(users).where(*_conditions(filters))
    return int((await conn.execute(query)).scalar_one())


# Built once: every read of one user and every edit runs them. SQLite has no FOR UPDATE: its
# writer is alone.
_ONE_QUERY = _with_role.where(users.c.id_user == bindparam("user_id"))
_ONE_LOCKED_QUERY = _ONE_QUERY.with_for_update(of=users)
_ONE, _ONE_LOCKED = DriverStatement(_ONE_QUERY), DriverStatement(_ONE_LOCKED_QUERY)


async def get(conn: AsyncConnection, *, user_id: int, lock: bool = False) -> dict[str, Any] | None:
    """One user with its role; `lock`ed until the transaction ends, for an edit: a concurrent
    edit then waits, so what this one read is what it changes (and its audit entry says)."""
    return await (_ONE_LOCKED if lock else _ONE).row(conn, {"user_id": user_id})


# The public columns plus what signing in decides on: for login and password changes only.
_credentials = select(
    *_PUBLIC_COLUMNS,
    users.c.password_hash,
    users.c.token_version,
    users.c.must_change_password,
    roles.c.require_mfa,
).join_from(users, roles, users.c.role_id == roles.c.id_role)


async def get_credentials(conn: AsyncConnection, *, email: str) -> RowMapping | None:
    return (await conn.execute(_credentials.where(users.c.email == email))).mappings().first()


async def get_credentials_by_id(conn: AsyncConnection, *, user_id: int) -> RowMapping | None:
    query = _credentials.where(users.c.id_user == user_id)
    return (await conn.execute(query)).mappings().first()


async def get_account(conn: AsyncConnection, *, user_id: int) -> RowMapping | None:
    query = select(users.c.id_user, users.c.role_id, users.c.is_active, users.c.token_version)
    return (await conn.execute(query.where(users.c.id_user == user_id))).mappings().first()


async def email_taken(conn: AsyncConnection, *, email: str, except_user_id: int = 0) -> bool:
    query = select(users.c.id_user).where(users.c.email == email, users.c.id_user != except_user_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def emails_taken(conn: AsyncConnection, *, emails: Sequence[str]) -> set[str]:
    """Which of `emails` already name an account (one query for a whole import)."""
    if not emails:
        return set()
    query = select(users.c.email).where(users.c.email.in_(emails))
    return {str(email) for email in (await conn.execute(query)).scalars().all()}


# Below 2**30, so a lifetime of revocations (+1 each) stays inside a 32-bit INTEGER column.
TOKEN_VERSION_START_BOUND = 2**30


async def create(
    conn: AsyncConnection,
    *,
    full_name: str,
    email: str,
    password_hash: str | None,
    role_id: int,
) -> int:
    """A new active user (without a password hash: invited, unable to sign in yet). Its token
    version starts at a random value: tokens carry it, so a
    token of a deleted account never fits a later account that gets the same id."""
    result = await conn.execute(
        insert(users).values(
            full_name=full_name,
            email=email,
            password_hash=password_hash,
            role_id=role_id,
            is_active=1,
            token_version=secrets.randbelow(TOKEN_VERSION_START_BOUND),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


# Built once per set of columns: building an UPDATE costs more than running it on SQLite.
# The keys are the services' own column names, so there are only a few of them.
_UPDATES: dict[tuple[frozenset[str], bool], Any] = {}
_SAVED_COLUMNS = (users.c.full_name, users.c.email, users.c.role_id, users.c.is_active)
_REVOKING = {"token_version": users.c.token_version + 1}  # every token issued so far stops
_SAVING = RowUpdates(users, users.c.id_user, _SAVED_COLUMNS)
_SAVING_AND_REVOKING = RowUpdates(users, users.c.id_user, _SAVED_COLUMNS, also=_REVOKING)


def _update(columns: frozenset[str], *, revoke_sessions: bool) -> Any:
    key = (columns, revoke_sessions)
    statement = _UPDATES.get(key)
    if statement is None:
        values = _new_values(columns, revoke_sessions=revoke_sessions)
        statement = update(users).where(users.c.id_user == bindparam("user_id")).values(values)
        _UPDATES[key] = statement
    return statement


def _new_values(columns: frozenset[str], *, revoke_sessions: bool) -> dict[str, Any]:
    """SET terms, each column bound as `new_<column>`; revoking bumps the token version."""
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in columns}
    return {**values, **_REVOKING} if revoke_sessions else values


def _update_parameters(user_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": user_id, **{f"new_{name}": value for name, value in values.items()}}


async def update_fields(
    conn: AsyncConnection, *, user_id: int, values: dict[str, Any], revoke_sessions: bool
) -> bool:
    """Write `values`; with `revoke_sessions`, every token issued so far stops counting.
    False when no such user exists."""
    statement = _update(frozenset(values), revoke_sessions=revoke_sessions)
    result = await conn.execute(statement, _update_parameters(user_id, values))
    return result.rowcount > 0


async def update_and_get(
    conn: AsyncConnection, *, user_id: int, values: dict[str, Any], revoke_sessions: bool
) -> dict[str, Any] | None:
    """`update_fields`, answering the user's own columns as saved (None when no such user):
    in the same statement where the database can return them (RETURNING), else read back."""
    updates = _SAVING_AND_REVOKING if revoke_sessions else _SAVING
    return await updates.apply(conn, user_id, values)


_BEFORE = _ONE_LOCKED_QUERY.subquery("before")
_BEFORE_UPDATES: dict[tuple[frozenset[str], bool], DriverStatement] = {}


def updates_after_reading(conn: AsyncConnection) -> bool:
    """Whether `update_after_reading` runs as one statement here: PostgreSQL's UPDATE FROM may
    return the joined row's columns, MariaDB's UPDATE returns nothing, SQLite's only its own."""
    return conn.dialect.name == "postgresql"


async def update_after_reading(
    conn: AsyncConnection, *, user_id: int, values: dict[str, Any], revoke_sessions: bool
) -> tuple[Any, Any] | None:
    """`get` (locked) and `update_and_get` in one round trip: the user as it was, and its own
    columns as saved; None when no such user. Only where `updates_after_reading`."""
    key = (frozenset(values), revoke_sessions)
    statement = _BEFORE_UPDATES.get(key)
    if statement is None:
        statement = DriverStatement(
            update(users)
            .where(users.c.id_user == _BEFORE.c.id_user)
            .values(_new_values(key[0], revoke_sessions=revoke_sessions))
            .returning(
                *(column.label(f"before_{column.key}") for column in _BEFORE.c), *_SAVED_COLUMNS
            )
        )
        _BEFORE_UPDATES[key] = statement
    row = await statement.row(conn, _update_parameters(user_id, values))
    if row is None:
        return None
    before = {column.key: row[f"before_{column.key}"] for column in _BEFORE.c}
    return before, {column.key: row[column.key] for column in _SAVED_COLUMNS}


async def replace_password_hash(conn: AsyncConnection, *, user_id: int, old: str, new: str) -> None:
    """Swap the hash only if it is still `old` (a password change meanwhile wins)."""
    query = update(users).where(users.c.id_user == user_id, users.c.password_hash == old)
    await conn.execute(query.values(password_hash=new))


async def delete_one(conn: AsyncConnection, *, user_id: int) -> bool:
    result = await conn.execute(delete(users).where(users.c.id_user == user_id))
    return result.rowcount > 0
