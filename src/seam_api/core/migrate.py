"""Apply pending Alembic migrations, once, even when several instances start together.

PostgreSQL and MariaDB serialise the upgrade with a database lock (an advisory lock, GET_LOCK);
SQLite, which has no such lock, takes an exclusive file lock beside the database.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from seam_api.core.db import Database

LOCK_KEY = 7_352_810_442  # arbitrary, fixed: the advisory lock id of SEAM API migrations
LOCK_NAME = "seam_api_migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "seam_api:migrations")
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
    elif dialect in ("mysql", "mariadb"):
        connection.execute(text("SELECT GET_LOCK(:name, 300)"), {"name": LOCK_NAME})
    connection.commit()
    try:
        command.upgrade(config, "head")
        connection.commit()
    finally:
        if dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        elif dialect in ("mysql", "mariadb"):
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
        connection.commit()


@contextmanager
def _file_lock(database: Path | None) -> Iterator[None]:
    if database is None:
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".migrate.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def upgrade(db: Database, sqlite_path: Path | None) -> None:
    """Bring the schema to the newest revision."""
    with _file_lock(sqlite_path):
        async with db.engine.connect() as connection:
            await connection.run_sync(_upgrade)
