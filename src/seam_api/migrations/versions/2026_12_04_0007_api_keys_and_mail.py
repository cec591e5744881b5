"""API keys for programs, emailed single-use links (password reset, invitations), the key an
audit entry's actor used, and accounts without a password until their invitation is used.

`users.password_hash` becomes nullable: an invited account has none, and login fails for it
exactly as for a wrong password. Downgrading gives such accounts an unusable hash (`!`, which
no password verifies), so they stay unable to sign in.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id_key", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("permissions", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id_key", name="pk_api_keys"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id_user"],
            name="fk_api_keys_user_id_users",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "mail_tokens",
        sa.Column("id_token", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used_at", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id_token", name="pk_mail_tokens"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id_user"],
            name="fk_mail_tokens_user_id_users",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name="uq_mail_tokens_token_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_mail_tokens_user_id", "mail_tokens", ["user_id"])
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("actor_key_id", sa.Integer, nullable=True))
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("password_hash", existing_type=sa.String(100), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("password_hash", existing_type=sa.String(100), nullable=False)
    with op.batch_alter_table("events") as batch:
        batch.drop_column("actor_key_id")
    # Their indexes go with them (MariaDB refuses to drop an index a foreign key still uses).
    op.drop_table("mail_tokens")
    op.drop_table("api_keys")
