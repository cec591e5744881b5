"""Every SEAM_* setting (contract section 6) in one pydantic-settings class."""

from __future__ import annotations

import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio.connection import parse_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./seam.db"
MIN_SECRET_BYTES = 32

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int) -> int:
    """Seconds from the contract's forms: `3600`, `30m`, `1h`, `7d`."""
    if isinstance(value, int):
        return value
    match = _DURATION.match(value)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {value!r} (use 3600, 30m, 1h or 7d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class Settings(BaseSettings):
    """Read from the environment or `.env`; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="SEAM_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    redis_prefix: str = Field("seam", pattern=r"^[A-Za-z0-9_.-]+$")
    jwt_secret: str | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_expires_in: int = 3600
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)
    cors_origin: str = "*"
    admin_email: str = "admin@seam.local"
    admin_password: str | None = None
    self_registration: bool = False
    default_role: str = "user"
    locale: Literal["en", "es"] = "en"
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_socket_message_bytes: int = Field(64 * 1024, ge=1024)
    max_sockets_per_user: int = Field(50, ge=1)
    login_max_failures_per_account: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(20, ge=1)
    login_failure_window: int = 900
    event_replay_window: int = 86400
    event_replay_max: int = Field(500, ge=1, le=100_000)
    # Seconds an audit entry is kept; 0 keeps them forever.
    audit_retention: int = 90 * 86400
    audit_ip: bool = True

    @field_validator("jwt_expires_in", "login_failure_window", "event_replay_window", mode="before")
    @classmethod
    def _duration(cls, value: str | int) -> int:
        return parse_duration(value)

    @field_validator("audit_retention", mode="before")
    @classmethod
    def _retention(cls, value: str | int) -> int:
        """`0` (keep forever) or a duration such as `90d`."""
        if isinstance(value, str) and value.strip() == "0":
            return 0
        return parse_duration(value)

    @field_validator("redis_url", "jwt_secret", "admin_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def redis_namespace(self) -> str:
        """The start of every Redis key and channel this deployment uses.

        Keys live in the URL's database, but pub/sub channels are server-wide: the database
        index is part of the name so deployments on one Redis server never hear each other.
        """
        database = parse_url(self.redis_url).get("db", 0) if self.redis_url else 0
        return f"{self.redis_prefix}:{database}"

    def redis_name(self, name: str) -> str:
        """A Redis key or channel of this deployment: `seam:0:bus`."""
        return f"{self.redis_namespace}:{name}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, or None for an in-memory or server database."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None

    @cached_property
    def signing_secret(self) -> str:
        """The JWT secret; on embedded SQLite it is generated once and kept beside the file.

        A server database or Redis means several instances share tokens, so there the secret
        must be given and long enough: a per-machine generated one would split the cluster.
        """
        if self.jwt_secret is not None:
            if (not self.is_sqlite or self.redis_url) and len(
                self.jwt_secret.encode()
            ) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"SEAM_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes "
                    "with a server database or Redis"
                )
            return self.jwt_secret
        if not self.is_sqlite or self.redis_url:
            raise ValueError(
                "SEAM_JWT_SECRET is required (at least 32 bytes) with a server database or Redis"
            )
        return _secret_beside(self.sqlite_path)


def _secret_beside(database: Path | None) -> str:
    """Read or create `<database>.secret` (mode 0600); in-memory databases get a fresh one."""
    if database is None:
        return secrets.token_urlsafe(48)
    path = database.with_name(database.name + ".secret")
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race to create it
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
