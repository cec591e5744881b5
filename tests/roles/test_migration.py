"""Revision 0002 on databases that already hold roles: each gets its case-folded name key, and
roles that would clash stop the upgrade before anything changes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import Connection, String, column, insert, inspect, select, table

from seam_api.core import migrate
from seam_api.core.db import Database
from seam_api.models import roles
from seam_api.roles import repository
from tests.conftest import Databases


@pytest.fixture
async def db(databases: Databases, backend: str) -> AsyncIterator[Database]:
    """A database of `backend` at the initial schema (revision 0001)."""
    database = Database(await databases.create(backend))
    await upgrade(database, "0001")
    yield database
    await database.dispose()


async def upgrade(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()

    async with database.engine.connect() as connection:
        await connection.run_sync(run)


# The roles table as revision 0001 made it: the model's later columns do not exist yet.
ROLES_AT_0001 = table("roles", column("role_name", String))


async def add_roles(database: Database, *names: str) -> None:
    async with database.transaction() as conn:
        for name in names:
            await conn.execute(insert(ROLES_AT_0001).values(role_name=name))


async def test_the_upgrade_keys_existing_roles_by_their_case_fold(db: Database) -> None:
    await add_roles(db, "admin", "Árbol", "Straße")

    await upgrade(db, "head")

    async with db.read() as conn:
        keys = dict((await conn.execute(select(roles.c.role_name, roles.c.role_name_key))).all())
        found = await repository.get_by_name(conn, role_name="ÁRBOL")
    assert keys == {"admin": "admin", "Árbol": "árbol", "Straße": "strasse"}
    assert found is not None and found["role_name"] == "Árbol"


async def test_roles_differing_only_in_case_stop_the_upgrade_unchanged(db: Database) -> None:
    await add_roles(db, "Straße", "STRASSE")  # distinct even in MariaDB's case-blind collation

    with pytest.raises(RuntimeError, match="'Straße' and 'STRASSE' differ only in case"):
        await upgrade(db, "head")

    async with db.read() as conn:
        columns = await conn.run_sync(lambda sync: inspect(sync).get_columns("roles"))
    assert "role_name_key" not in {column["name"] for column in columns}
