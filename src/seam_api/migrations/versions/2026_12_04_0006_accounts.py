"""Accounts: sessions with rotating refresh tokens, TOTP second factors with recovery codes,
the forced change of temporary passwords and the roles that require a second factor.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server defaults let every database add a NOT NULL column to existing rows.
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.SmallInteger, nullable=False, server_default="0"),
    )
    op.add_column(
        "roles", sa.Column("require_mfa", sa.SmallInteger, nullable=False, server_default="0")
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id_session", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id_session", name="pk_auth_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id_user"],
            name="fk_auth_sessions_user_id_users",
            ondelete="CASCADE",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("used", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_refresh_tokens"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_sessions.id_session"],
            name="fk_refresh_tokens_session_id_auth_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])
    op.create_table(
        "mfa_totp",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("secret", sa.String(255), nullable=False),
        sa.Column("confirmed", sa.SmallInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_mfa_totp"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id_user"], name="fk_mfa_totp_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id_code", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id_code", name="pk_mfa_recovery_codes"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id_user"],
            name="fk_mfa_recovery_codes_user_id_users",
            ondelete="CASCADE",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_mfa_recovery_codes_user_id", "mfa_recovery_codes", ["user_id"])


def downgrade() -> None:
    # Tables take their indexes along (MariaDB refuses to drop one a foreign key uses).
    op.drop_table("mfa_recovery_codes")
    op.drop_table("mfa_totp")
    op.drop_table("refresh_tokens")
    op.drop_table("auth_sessions")
    op.drop_column("roles", "require_mfa")
    op.drop_column("users", "must_change_password")
