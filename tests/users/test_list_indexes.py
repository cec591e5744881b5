"""Revision 0005 adds the list indexes and takes them away again on downgrade, on every
database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import Connection, inspect

from seam_api.core import migrate
from seam_api.core.db import Database
from tests.conftest import Databases

LIST_INDEXES = {
    ("users", "ix_users_full_name", ("full_name", "id_user")),
    ("users", "ix_users_is_active", ("is_active", "id_user")),
    ("events", "ix_events_actor_email", ("actor_email",)),
}


@pytest.fixture
async def db(databases: Databases, backend: str) -> AsyncIterator[Database]:
    database = Database(await databases.create(backend))
    yield database
    await database.dispose()


async def _migrate(
    database: Database, action: str, revision: str
) -> set[tuple[str, str, tuple[str, ...]]]:
    """Run the Alembic `action` to `revision`; the list indexes present afterwards."""

    def run(connection: Connection) -> set[tuple[str, str, tuple[str, ...]]]:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
        connection.commit()
        found = set()
        for table in ("users", "events"):
            for index in inspect(connection).get_indexes(table):
                found.add((table, str(index["name"]), tuple(index["column_names"])))
        return found & LIST_INDEXES

    async with database.engine.connect() as connection:
        return await connection.run_sync(run)


async def test_the_list_indexes_come_with_0005_and_go_with_its_downgrade(db: Database) -> None:
    assert await _migrate(db, "upgrade", "0004") == set()
    assert await _migrate(db, "upgrade", "0005") == LIST_INDEXES
    assert await _migrate(db, "downgrade", "0004") == set()
