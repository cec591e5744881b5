"""core/statements: a statement built once answers what SQLAlchemy would, on every backend; on
PostgreSQL asyncpg runs it, inside the block's transaction, under the database's rules."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from seam_api.core.db import Database
from seam_api.core.errors import Invalid
from seam_api.core.statements import DriverStatement, RowUpdates
from seam_api.models import roles, users
from seam_api.users import repository as users_repository
from tests import conftest
from tests.conftest import ADMIN_EMAIL

_RENAME = DriverStatement(
    update(users)
    .where(users.c.id_user == bindparam("user_id"))
    .values(full_name=bindparam("name"))
    .returning(users.c.id_user, users.c.full_name, users.c.is_active)
)
_READ = DriverStatement(
    select(users.c.id_user, users.c.full_name, users.c.is_active).where(
        users.c.email == bindparam("email")
    )
)
_NEW_EMAIL = DriverStatement(
    update(users)
    .where(users.c.id_user == bindparam("user_id"))
    .values(email=bindparam("email"))
    .returning(users.c.email)
)


def _statements_through_sqlalchemy(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(
        db.write_engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: seen.append(statement),
    )
    return seen


async def test_a_driver_statement_answers_as_sqlalchemy_would(
    databases: conftest.Databases, backend: str
) -> None:
    # The same rows either way, in a read and in a write; on PostgreSQL asyncpg runs the
    # statement (SQLAlchemy sees none of it), elsewhere SQLAlchemy does. Text no database can
    # store is refused on both paths.
    db = Database(await databases.create_ready(backend))
    seen = _statements_through_sqlalchemy(db)
    try:
        async with db.read() as conn:
            found = await _READ.row(conn, {"email": ADMIN_EMAIL})
            missing = await _READ.row(conn, {"email": "nobody@example.com"})
        async with db.transaction() as conn:
            again = await _READ.row(conn, {"email": ADMIN_EMAIL})
        for text in ("a\x00b", "lone \ud800"):
            with pytest.raises(Invalid):
                async with db.read() as conn:
                    await _READ.row(conn, {"email": text})
    finally:
        await db.dispose()
    assert found == again == {"id_user": 1, "full_name": found["full_name"], "is_active": 1}
    assert missing is None
    reads = [statement for statement in seen if "FROM users" in statement]
    assert len(reads) == (0 if backend == "postgresql" else 3)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_driver_statements_and_sqlalchemy_share_the_transaction(
    databases: conftest.Databases, backend: str
) -> None:
    # A block that raises takes back both kinds of statement; one that ends keeps both.
    db = Database(await databases.create_ready(backend))
    new_email = update(users).where(users.c.id_user == 1).values(email=bindparam("email"))
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(new_email, {"email": "undone@example.com"})
                await _RENAME.row(conn, {"user_id": 1, "name": "Undone"})
                raise RuntimeError("the block fails")
        async with db.read() as conn:
            undone = (await conn.execute(select(users.c.email, users.c.full_name))).one()
        async with db.transaction() as conn:
            await conn.execute(new_email, {"email": "kept@example.com"})
            await _RENAME.row(conn, {"user_id": 1, "name": "Kept"})
        async with db.read() as conn:
            kept = (await conn.execute(select(users.c.email, users.c.full_name))).one()
    finally:
        await db.dispose()
    assert tuple(undone) == (ADMIN_EMAIL, undone.full_name) and undone.full_name != "Undone"
    assert tuple(kept) == ("kept@example.com", "Kept")


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_driver_statement_breaking_a_constraint_is_an_integrity_error(
    databases: conftest.Databases, backend: str
) -> None:
    # SQLAlchemy's IntegrityError (the 409 handler's); its text lists no parameters (a password
    # hash, for another statement), as SQLAlchemy's own errors here do not.
    db = Database(await databases.create_ready(backend))
    try:
        async with db.transaction() as conn:
            await users_repository.create(
                conn, full_name="Other", email="taken@example.com", password_hash=None, role_id=1
            )
        with pytest.raises(IntegrityError) as refused:
            async with db.transaction() as conn:
                await _NEW_EMAIL.row(conn, {"user_id": 1, "email": "taken@example.com"})
    finally:
        await db.dispose()
    assert "[SQL parameters hidden" in str(refused.value)


async def test_row_updates_answer_the_row_as_saved(
    databases: conftest.Databases, backend: str
) -> None:
    # RETURNING on PostgreSQL and SQLite, a read back on MariaDB: the same answer, and None
    # for a row that is not there.
    db = Database(await databases.create_ready(backend))
    updates = RowUpdates(roles, roles.c.id_role, (roles.c.id_role, roles.c.description))
    try:
        async with db.transaction() as conn:
            saved = await updates.apply(conn, 1, {"description": "Changed"})
            again = await updates.apply(conn, 1, {"description": "Changed again"})
            missing = await updates.apply(conn, 10**6, {"description": "Nobody's"})
        async with db.read() as conn:
            stored = await conn.scalar(select(roles.c.description).where(roles.c.id_role == 1))
    finally:
        await db.dispose()
    assert saved == {"id_role": 1, "description": "Changed"}
    assert again == {"id_role": 1, "description": "Changed again"}
    assert missing is None
    assert stored == "Changed again"


async def test_a_column_left_to_its_python_default_gets_it(
    databases: conftest.Databases, backend: str
) -> None:
    # SQLAlchemy computes `require_mfa`'s default at each run; asyncpg alone would send NULL.
    db = Database(await databases.create_ready(backend))
    add_role = DriverStatement(
        insert(roles)
        .values(role_name=bindparam("name"), role_name_key=bindparam("name"), description="")
        .returning(roles.c.role_name, roles.c.require_mfa)
    )
    try:
        async with db.transaction() as conn:
            added = await add_role.row(conn, {"name": "defaulted"})
    finally:
        await db.dispose()
    assert added == {"role_name": "defaulted", "require_mfa": 0}


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_driver_statement_without_a_parameter_it_needs_refuses_to_run(
    databases: conftest.Databases, backend: str
) -> None:
    # As SQLAlchemy refuses it: a forgotten parameter must not be written as NULL.
    db = Database(await databases.create_ready(backend))
    try:
        with pytest.raises(KeyError):
            async with db.transaction() as conn:
                await _RENAME.row(conn, {"user_id": 1})
        async with db.read() as conn:
            full_name = await conn.scalar(select(users.c.full_name).where(users.c.id_user == 1))
    finally:
        await db.dispose()
    assert full_name is not None
