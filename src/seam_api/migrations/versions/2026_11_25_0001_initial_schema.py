"""Initial schema: roles, permissions, users, sidebar items, their assignments, revocations.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("id_role", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("role_name", sa.String(50), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id_role", name="pk_roles"),
        sa.UniqueConstraint("role_name", name="uq_roles_role_name"),
    )
    op.create_table(
        "permissions",
        sa.Column("id_permission", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name_uri", sa.String(100), nullable=False),
        sa.Column("name_uri_key", sa.String(100), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id_permission", name="pk_permissions"),
        sa.UniqueConstraint("name_uri_key", name="uq_permissions_name_uri_key"),
    )
    op.create_table(
        "role_permissions",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("permission_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id_role"],
            name="fk_role_permissions_role_id_roles",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permissions.id_permission"],
            name="fk_role_permissions_permission_id_permissions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "permission_id", name="pk_role_permissions"),
    )
    op.create_index("ix_role_permissions_permission_id", "role_permissions", ["permission_id"])
    op.create_table(
        "users",
        sa.Column("id_user", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("full_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(100), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.SmallInteger(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id_role"], name="fk_users_role_id_roles", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id_user", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_index("ix_users_role_id", "users", ["role_id"])
    op.create_table(
        "sidebar_items",
        sa.Column("id_item", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name_item", sa.String(100), nullable=False),
        sa.Column("icon_item", sa.String(50), nullable=True),
        sa.Column("route", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id_item", name="pk_sidebar_items"),
    )
    op.create_table(
        "role_sidebar_items",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id_role"],
            name="fk_role_sidebar_items_role_id_roles",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["sidebar_items.id_item"],
            name="fk_role_sidebar_items_item_id_sidebar_items",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "item_id", name="pk_role_sidebar_items"),
    )
    op.create_index("ix_role_sidebar_items_item_id", "role_sidebar_items", ["item_id"])
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(36), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_revoked_tokens"),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("revoked_tokens")
    op.drop_table("role_sidebar_items")
    op.drop_table("sidebar_items")
    op.drop_table("users")
    op.drop_table("role_permissions")
    op.drop_table("permissions")
    op.drop_table("roles")
