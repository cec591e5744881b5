"""The six tables (and the revocation list), in one file because they read better together.

Column names are snake_case; the contract's field names (`idUser`, `full_name`) live in the
schemas. The naming convention makes Alembic name constraints identically on every database.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

# `sqlite_autoincrement` on the tables whose ids name things outside the database (tokens,
# clients' tables): SQLite would otherwise give a deleted row's id to the next row.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A casefolded name is at most 3x longer (full case folding maps a character to up to three);
# compared byte for byte on every database.
CASE_FOLDED_NAME = String(150).with_variant(
    mysql.VARCHAR(150, collation="utf8mb4_bin"), "mysql", "mariadb"
)

roles = Table(
    "roles",
    metadata,
    Column("id_role", Integer, primary_key=True, autoincrement=True),
    # Stored as written; unique and looked up through `role_name_key`, its Unicode case fold
    # (SQL lower() folds only ASCII on SQLite; MariaDB's default collation also drops accents).
    Column("role_name", String(50), nullable=False),
    Column("role_name_key", CASE_FOLDED_NAME, nullable=False, unique=True, index=True),
    Column("description", String(255), nullable=True),
    sqlite_autoincrement=True,
)

permissions = Table(
    "permissions",
    metadata,
    Column("id_permission", Integer, primary_key=True, autoincrement=True),
    # Stored as written; compared case-insensitively through `name_uri_key`.
    Column("name_uri", String(100), nullable=False),
    Column("name_uri_key", String(100), nullable=False, unique=True),
    Column("description", String(255), nullable=True),
    sqlite_autoincrement=True,
)

role_permissions = Table(
    "role_permissions",
    metadata,
    Column(
        "role_id",
        Integer,
        ForeignKey("roles.id_role", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "permission_id",
        Integer,
        ForeignKey("permissions.id_permission", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

users = Table(
    "users",
    metadata,
    Column("id_user", Integer, primary_key=True, autoincrement=True),
    Column("full_name", String(100), nullable=False),
    Column("email", String(255), nullable=False, unique=True),
    Column("password_hash", String(100), nullable=False),
    # RESTRICT: a role that users still hold cannot be deleted (409 in the service).
    Column(
        "role_id",
        Integer,
        ForeignKey("roles.id_role", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    Column("is_active", SmallInteger, nullable=False, default=1),
    # Raised to revoke every token issued before; tokens carry the version they were signed at.
    # It starts at a random value, which binds a token to its account beyond the id.
    Column("token_version", Integer, nullable=False, default=0),
    # Lists sorted by name or filtered by state (contract 10) read a page off these in order,
    # in either direction, instead of sorting every row; email's unique index serves its sort.
    Index("ix_users_full_name", "full_name", "id_user"),
    Index("ix_users_is_active", "is_active", "id_user"),
    sqlite_autoincrement=True,
)

sidebar_items = Table(
    "sidebar_items",
    metadata,
    Column("id_item", Integer, primary_key=True, autoincrement=True),
    Column("name_item", String(100), nullable=False),
    Column("icon_item", String(50), nullable=True),
    Column("route", String(100), nullable=True),
    sqlite_autoincrement=True,
)

role_sidebar_items = Table(
    "role_sidebar_items",
    metadata,
    Column(
        "role_id",
        Integer,
        ForeignKey("roles.id_role", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "item_id",
        Integer,
        ForeignKey("sidebar_items.id_item", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(36), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# The event log: the audit trail, the replay source of Socket.IO recovery and the relay between
# instances. `event_id` is not an auto-increment: ids come from `event_sequence`, whose one row
# each writer locks just before commit, so ids follow commit order and a reader that has seen
# id N has seen every id below it (see core/eventlog.py).
events = Table(
    "events",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("operation", String(50), nullable=False, index=True),
    Column("message", String(255), nullable=False),
    # No foreign key: the trail outlives the accounts it names.
    Column("actor_id", Integer, nullable=True, index=True),
    Column("actor_email", String(255), nullable=True, index=True),  # the audit's `actor`
    Column("ip", String(45), nullable=True),
    Column("user_agent", String(255), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("entity", String(20), nullable=False),
    Column("entity_id", String(64), nullable=True),
    Column("changes", Text, nullable=False),  # JSON {field: [before, after]}
    Column("payload", Text, nullable=True),  # the data:changed payload; null: audit only
    Column("occurred_at", BigInteger, nullable=False, index=True),  # epoch milliseconds
    Index("ix_events_entity", "entity", "entity_id"),
)

event_sequence = Table(
    "event_sequence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", BigInteger, nullable=False),
)
