"""Role names unique by their Unicode case fold, `role_name_key`, on every database.

SQL lower() folds only ASCII on SQLite (`Árbol` and `árbol` could both exist) and MariaDB's
default collation also ignores accents (`Arbol` clashed with `Árbol`); a key folded in Python and
compared byte for byte means the same everywhere. Roles that differ only in case stop the upgrade
before it changes anything (MariaDB cannot roll DDL back): which one to rename is a person's call.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEY_TYPE = sa.String(150).with_variant(
    mysql.VARCHAR(150, collation="utf8mb4_bin"), "mysql", "mariadb"
)
roles = sa.table(
    "roles",
    sa.column("id_role", sa.Integer),
    sa.column("role_name", sa.String),
    sa.column("role_name_key", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    keys: dict[str, tuple[int, str]] = {}
    existing = sa.select(roles.c.id_role, roles.c.role_name).order_by(roles.c.id_role)
    for role_id, name in bind.execute(existing).all():
        clash = keys.setdefault(name.casefold(), (role_id, name))
        if clash[0] != role_id:
            raise RuntimeError(
                f"roles {clash[1]!r} and {name!r} differ only in case; rename one, then upgrade"
            )
    # The default lets SQLite add a NOT NULL column to existing rows.
    op.add_column("roles", sa.Column("role_name_key", KEY_TYPE, nullable=False, server_default=""))
    for key, (role_id, _name) in keys.items():
        bind.execute(sa.update(roles).where(roles.c.id_role == role_id).values(role_name_key=key))
    op.create_index("ix_roles_role_name_key", "roles", ["role_name_key"], unique=True)
    if bind.dialect.name != "sqlite":
        # SQLite cannot drop either without rebuilding the table, which would fire the ON
        # DELETE actions of the tables referring to roles; its exact-match unique is harmless.
        op.alter_column(
            "roles",
            "role_name_key",
            server_default=None,
            existing_type=KEY_TYPE,
            existing_nullable=False,
        )
        op.drop_constraint("uq_roles_role_name", "roles", type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.create_unique_constraint("uq_roles_role_name", "roles", ["role_name"])
    op.drop_index("ix_roles_role_name_key", "roles")
    op.drop_column("roles", "role_name_key")
