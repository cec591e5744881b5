"""The event log (`events`) and the one-row counter that numbers it (`event_sequence`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("operation", sa.String(50), nullable=False),
        sa.Column("message", sa.String(255), nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("actor_email", sa.String(255), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("occurred_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.create_index("ix_events_operation", "events", ["operation"])
    op.create_index("ix_events_actor_id", "events", ["actor_id"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
    op.create_index("ix_events_entity", "events", ["entity", "entity_id"])
    sequence = op.create_table(
        "event_sequence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_sequence"),
    )
    op.bulk_insert(sequence, [{"id": 1, "last_id": 0}])


def downgrade() -> None:
    op.drop_table("event_sequence")
    op.drop_index("ix_events_entity", table_name="events")
    op.drop_index("ix_events_occurred_at", table_name="events")
    op.drop_index("ix_events_actor_id", table_name="events")
    op.drop_index("ix_events_operation", table_name="events")
    op.drop_table("events")
