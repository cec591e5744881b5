"""Revision 0006 (accounts) on every database: it builds what the models declare, and goes
down to 0004 and up again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from seam_api.core import migrate
from seam_api.core.db import Database
from seam_api.models import metadata
from tests.conftest import Databases

ACCOUNT_TABLES = {"auth_sessions", "refresh_tokens", "mfa_totp", "mfa_recovery_codes"}


@pytest.fixture
async def db(databases: Databases, backend: str) -> AsyncIterator[Database]:
    database = Database(await databases.create(backend))
    await run(database, command.upgrade, "head")
    yield database
    await database.dispose()


async def run(database: Database, step: object, revision: str) -> None:
    def migrate_to(connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)  # type: ignore[operator]
        connection.commit()

    async with database.engine.connect() as connection:
        await connection.run_sync(migrate_to)


def _touches_accounts(difference: object) -> bool:
    text = repr(difference)
    return any(name in text for name in (*ACCOUNT_TABLES, "must_change_password", "require_mfa"))


async def test_the_accounts_revision_builds_what_the_models_declare(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert [d for d in differences if _touches_accounts(d)] == []


async def test_the_accounts_revision_goes_down_and_up_again(db: Database) -> None:
    await run(db, command.downgrade, "0004")
    async with db.engine.connect() as connection:
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        users = await connection.run_sync(lambda sync: inspect(sync).get_columns("users"))
    assert not tables & ACCOUNT_TABLES
    assert "must_change_password" not in {column["name"] for column in users}
    await run(db, command.upgrade, "head")
    async with db.engine.connect() as connection:
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert tables >= ACCOUNT_TABLES
