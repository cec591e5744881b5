"""Row ids are never handed out again on SQLite: users, roles, permissions and sidebar items
get AUTOINCREMENT.

Without it SQLite gives the highest id out again after that row is deleted, so whatever still
names the old id (a token, a cached account, a client's table) meets a different row.
PostgreSQL sequences and MariaDB's AUTO_INCREMENT (persisted since 10.2.4) never go back.
SQLite cannot add AUTOINCREMENT in place: each table is rebuilt (copied, dropped, renamed),
ids and rows kept. The environment turns foreign keys off around SQLite migrations, so
dropping the old table does not fire the ON DELETE actions of the tables referring to it.
An id deleted before this upgrade may still be given once more; account tokens are bound
beyond the id as well (a random starting token version), so that is no way back in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("roles", "permissions", "users", "sidebar_items")


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
