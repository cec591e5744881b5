"""Indexes for lists that scale (contract 10): users sorted by name or filtered by state, and
the audit trail filtered by the actor's email.

A page of 50 users sorted by `full_name` reads 50 index entries in order (either direction,
`id_user` breaking ties) instead of sorting every row; `isActive` narrows through its own
index. A substring search (`%term%`) cannot use a B-tree on any of the three databases: it
scans the table, which the sort indexes still let stop once a page is full.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_full_name", "users", ["full_name", "id_user"])
    op.create_index("ix_users_is_active", "users", ["is_active", "id_user"])
    op.create_index("ix_events_actor_email", "events", ["actor_email"])


def downgrade() -> None:
    op.drop_index("ix_events_actor_email", table_name="events")
    op.drop_index("ix_users_is_active", table_name="users")
    op.drop_index("ix_users_full_name", table_name="users")
