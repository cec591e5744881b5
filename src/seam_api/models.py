"""The six tables (and the revocation list, sessions, second factors, API keys and emailed
links), in one file because they read better together.

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


def _owned_by_a_user() -> Column[int]:
    """The `user_id` of a row that belongs to an account and goes with it."""
    return Column(
        "user_id",
        Integer,
        ForeignKey("users.id_user", ondelete="CASCADE"),
        nullable=False,
        index=True,
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
    # 1: its users must enrol a second factor before their tokens reach anything else.
    Column("require_mfa", SmallInteger, nullable=False, default=0, server_default="0"),
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
    # NULL until an invited account sets its password: login then fails as a wrong password.
    Column("password_hash", String(100), nullable=True),
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
    # 1 after an administrator's reset: the next sign-in may only change the password.
    Column("must_change_password", SmallInteger, nullable=False, default=0, server_default="0"),
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

# A revoked token id, a used MFA token's id, or `session:<id>` for every token of an ended
# session; kept until the tokens it names would have expired anyway.
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(36), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# The event log: the audit trail, the replay source of Socket.IO recovery and the relay between
# instances. `event_id` is not an auto-increment: ids come from `event_sequence`, whose one row
# each writer locks just before commit, so ids follow commit order and a reader that has seen
# id N has seen every id below it (see realtime/eventlog.py).
events = Table(
    "events",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("operation", String(50), nullable=False, index=True),
    Column("message", String(255), nullable=False),
    # No foreign key: the trail outlives the accounts it names.
    Column("actor_id", Integer, nullable=True, index=True),
    Column("actor_email", String(255), nullable=True, index=True),  # the audit's `actor`
    # The API key the actor used (apikeys/), beside the owner in actor_id; null otherwise.
    Column("actor_key_id", Integer, nullable=True),
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

# A sign-in: what GET /auth/sessions lists. Access tokens name it (`sid`); ending one deletes
# the row (its refresh tokens go with it) and revokes `session:<id>`. Times are epoch seconds.
auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id_session", Integer, primary_key=True, autoincrement=True),
    _owned_by_a_user(),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # when its refresh token lapses
    Column("ip", String(45), nullable=True),
    Column("user_agent", String(255), nullable=True),
    # The account's token version at sign-in: a later revocation of the account ends it too.
    Column("token_version", Integer, nullable=False),
    sqlite_autoincrement=True,
)

# Every refresh token a session was given, by its SHA-256: the live one (used 0) and those
# retired by rotation (used 1), whose reappearance means the token was stolen.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "session_id",
        Integer,
        ForeignKey("auth_sessions.id_session", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("used", SmallInteger, nullable=False, default=0),
)

# A user's TOTP secret, encrypted (security/secrets_box.py); pending until `confirmed` is 1.
# `last_step` is the 30 s step of the last accepted code: a code is good once.
mfa_totp = Table(
    "mfa_totp",
    metadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id_user", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("secret", String(255), nullable=False),
    Column("confirmed", SmallInteger, nullable=False, default=0),
    Column("last_step", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# Ten per confirmed enrolment, each a keyed hash, deleted when used.
mfa_recovery_codes = Table(
    "mfa_recovery_codes",
    metadata,
    Column("id_code", Integer, primary_key=True, autoincrement=True),
    _owned_by_a_user(),
    Column("code_hash", String(64), nullable=False),
)

# API keys for programs (contract 9.5). Only an HMAC of the key is kept (security/keys.py);
# `permissions` is the JSON list of nameUris granted at creation, intersected with the owner's
# role at each use. A revoked key's row is deleted; the audit trail keeps its history.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id_key", Integer, primary_key=True, autoincrement=True),
    _owned_by_a_user(),
    Column("name", String(100), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("permissions", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),  # epoch milliseconds, as below
    Column("expires_at", BigInteger, nullable=True),
    Column("last_used_at", BigInteger, nullable=True),
    sqlite_autoincrement=True,
)

# Emailed single-use links (contract 9.6): password reset (`reset`) and invitation (`invite`).
# Only an HMAC of the token is kept; `used_at` makes it single-use.
mail_tokens = Table(
    "mail_tokens",
    metadata,
    Column("id_token", Integer, primary_key=True, autoincrement=True),
    _owned_by_a_user(),
    Column("purpose", String(10), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    sqlite_autoincrement=True,
)
