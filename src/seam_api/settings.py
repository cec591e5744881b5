"""Every SEAM_* setting (docs/reference.md §10) in one pydantic-settings class."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio.connection import parse_url

from seam_api.core.types import Email

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./seam.db"
MIN_SECRET_BYTES = 32
MIN_METRICS_TOKEN = 16

SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")

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
    # Checked by the same rules as every address the API takes, so the admin can be edited
    # through the API like any account (special-use domains such as `.local` are refused).
    admin_email: Email = "admin@example.com"
    admin_password: str | None = None
    self_registration: bool = False
    default_role: str = "user"
    locale: Literal["en", "es"] = "en"
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_socket_message_bytes: int = Field(64 * 1024, ge=1024)
    max_sockets_per_user: int = Field(50, ge=1)
    socket_queue_max: int = Field(1000, ge=10)  # packets waiting for one socket (5.5)
    login_max_failures_per_account: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(20, ge=1)
    login_failure_window: int = 900
    event_replay_window: int = 86400
    event_replay_max: int = Field(500, ge=1, le=100_000)
    # Seconds an audit entry is kept; 0 keeps them forever.
    audit_retention: int = 90 * 86400
    audit_ip: bool = True
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    log_format: Literal["text", "json"] = "text"
    # Comma-separated addresses or networks (`10.0.0.0/8, 127.0.0.1`) of the proxies whose
    # X-Forwarded-For is believed; from anyone else the header is ignored.
    trusted_proxies: str = ""
    # `off`, `open`, or a bearer token (at least 16 characters) that /metrics requires.
    metrics: str = "off"
    registrations_per_address: int = Field(10, ge=1)
    request_head_timeout: float = Field(10.0, gt=0)
    # `off` serves everything on the libraries' own code (runtime/gate.py): slower, as correct.
    library_overrides: bool = True
    # After an administrator's password reset, the next sign-in may only change the password.
    force_password_change: bool = True
    refresh_expires_in: int = 30 * 86400
    # Mail (password reset, invitations): `smtp://host:port`, `smtps://user:pass@host:465`
    # or `smtp+starttls://…`; unset, the mail routes answer 503.
    smtp_url: str | None = None
    smtp_timeout: float = Field(10.0, gt=0)
    mail_from: str = "SEAM API <no-reply@seam.local>"
    # Where the links in emails point (the console's origin); unset: this server's address.
    public_url: str | None = None

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in _entries(value):
            ipaddress.ip_network(entry, strict=False)  # a ValueError names the bad entry
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: str) -> str:
        if value not in ("off", "open") and len(value) < MIN_METRICS_TOKEN:
            raise ValueError(
                f"SEAM_METRICS is off, open, or a token of at least {MIN_METRICS_TOKEN} characters"
            )
        return value

    @cached_property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(entry, strict=False) for entry in _entries(self.trusted_proxies)
        )

    @field_validator(
        "jwt_expires_in",
        "login_failure_window",
        "event_replay_window",
        "refresh_expires_in",
        mode="before",
    )
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

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in SMTP_SCHEMES:
            raise ValueError("SEAM_SMTP_URL starts with smtp://, smtps:// or smtp+starttls://")
        return value

    @field_validator(
        "redis_url", "jwt_secret", "admin_password", "smtp_url", "public_url", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def link_base(self) -> str:
        """The origin the links in emails start with, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

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
        """The JWT secret, at least 32 bytes on every database; on embedded SQLite without
        Redis it may be left unset, and is then generated once and kept beside the file.

        A server database or Redis means several instances share tokens, so there the secret
        must be given: a per-machine generated one would split the cluster.
        """
        if self.jwt_secret is not None:
            if len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"SEAM_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
            return self.jwt_secret
        if not self.is_sqlite or self.redis_url:
            raise ValueError(
                "SEAM_JWT_SECRET is required (at least 32 bytes) with a server database or Redis"
            )
        return _secret_beside(self.sqlite_path)


def _entries(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def _secret_beside(database: Path | None) -> str:
    """Read or create `<database>.secret` (mode 0600); in-memory databases get a fresh one."""
    if database is None:
        return secrets.token_urlsafe(48)
    path = database.with_name(database.name + ".secret")
    if path.exists():
        return _read_secret_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Written whole under a private name, then linked into place: a process that loses the
    # race to create it reads a complete secret, never an empty file.
    draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    try:
        os.link(draft, path)
    except FileExistsError:  # another process won the race to create it
        return _read_secret_file(path)
    finally:
        draft.unlink()
    return secret


def _read_secret_file(path: Path) -> str:
    """The secret a file holds, refused when others may read it, or when it is unreadable,
    empty or short: a server that signs with a guessable key must not start."""
    try:
        mode = path.stat().st_mode
        secret = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the JWT secret file {path}: {error}") from error
    if mode & 0o077:
        raise ValueError(
            f"the JWT secret file {path} may be read by other users (mode {mode & 0o777:o}); "
            "make it private with chmod 600"
        )
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the JWT secret file {path} holds fewer than {MIN_SECRET_BYTES} bytes; "
            "delete it to have a new one generated"
        )
    return secret
