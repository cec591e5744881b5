"""The `seam-api` command: serve, db upgrade, bootstrap, backup, restore, admin set-password
and create."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import TypeAdapter, ValidationError

from seam_api.app import Application, create_app
from seam_api.bootstrap import AccountError, BootstrapReport, bootstrap, create_admin, set_password
from seam_api.console.router import CONSOLE_PATH
from seam_api.core import migrate
from seam_api.core.types import Email
from seam_api.ops import backup, logs
from seam_api.runtime import gate
from seam_api.runtime.http_protocol import bounded_protocol
from seam_api.runtime.ws_protocol import LeanWebSocketProtocol
from seam_api.settings import Settings

# The API's password rule (core/types.py `Password`).
MIN_PASSWORD, MAX_PASSWORD = 6, 100

app = typer.Typer(help="SEAM API: auth, permissions and live events for admin front ends.")
db_app = typer.Typer(help="Database schema.")
app.add_typer(db_app, name="db")
admin_app = typer.Typer(help="Recover or add admin accounts from the command line.")
app.add_typer(admin_app, name="admin")


def _settings() -> Settings:
    try:
        settings = Settings()
        _ = settings.signing_secret  # refuse a bad secret before anything starts
    except ValueError as error:
        typer.echo(f"seam-api: {error}", err=True)
        raise typer.Exit(2) from None
    return settings


async def _upgrade(application: Application) -> None:
    seam = application.seam
    try:
        await migrate.upgrade(seam.db, seam.settings.sqlite_path)
    finally:
        await seam.db.dispose()


async def _prepare(application: Application) -> BootstrapReport:
    seam = application.seam
    try:
        await migrate.upgrade(seam.db, seam.settings.sqlite_path)
        return await bootstrap(seam, application.routes)
    finally:
        await seam.db.dispose()


def _announce(report: BootstrapReport, email: str) -> None:
    if report.admin_password is not None:
        # Printed, never logged: this is the only time the generated password is shown.
        typer.echo(
            f"\n  Admin created: {email}\n  Password (shown once): {report.admin_password}\n"
        )
    elif report.admin_created:
        typer.echo(f"Admin created: {email} (password from SEAM_ADMIN_PASSWORD)")
    elif report.admin_password_ignored:
        typer.echo(
            f"The admin {email} exists: SEAM_ADMIN_PASSWORD changed nothing. "
            f"To set its password: seam-api admin set-password {email}"
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (SEAM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (SEAM_PORT)")] = None,
) -> None:
    """Apply pending migrations, bootstrap, and serve HTTP and Socket.IO on one port."""
    settings = _settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    _refuse_a_taken_port(bind_host, bind_port)
    logs.configure(level=settings.log_level, json=settings.log_format == "json")
    application = create_app(settings)
    report = asyncio.run(_prepare(application))
    _announce(report, settings.admin_email.lower())
    typer.echo(f"SEAM API on http://{bind_host}:{bind_port} (docs at /docs)")
    typer.echo(f"Admin console: http://{bind_host}:{bind_port}{CONSOLE_PATH}")
    uvicorn.run(
        application.asgi,
        host=bind_host,
        port=bind_port,
        # The standard loop, not uvloop: under saturation uvloop served some requests 150-390 ms
        # late (wrk -c50, p99 up to 130 ms) where asyncio, once warm, kept the maximum under
        # 31 ms at the same throughput (bench/README.md, "Event loop").
        loop="asyncio",
        # engine.io leaves long-polls pending for ~30 s after a client leaves; don't wait.
        timeout_graceful_shutdown=5,
        lifespan="on",
        access_log=False,
        log_level=settings.log_level,
        log_config=None,  # our handler and format (logs.configure), not uvicorn's
        **connection_options(settings),
    )


def _refuse_a_taken_port(host: str, port: int) -> None:
    """Stop before the database is touched (and a first admin created and its password shown
    to nobody) when the port is taken, saying how to pick another, rather than with uvicorn's
    Errno 98 after the bootstrap. A check, not a reservation: uvicorn binds again right after."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            typer.echo(
                f"seam-api: cannot listen on {host}:{port} ({error.strerror}). "
                f"Another program may be using the port: pick another with SEAM_PORT "
                f"(SEAM_PORT={port + 1} make run) or seam-api serve --port {port + 1}.",
                err=True,
            )
            raise typer.Exit(1) from None


def connection_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves each connection; the tests that serve in-process use these too."""
    overrides = gate.decide(settings.library_overrides)
    return {
        # httptools with bounds on the head's size and time, else h11 (which bounds its size).
        "http": (
            bounded_protocol(settings.request_head_timeout)
            if "bounded_http" in overrides
            else "h11"
        ),
        # uvicorn's websockets-sansio, keeping less per socket when the gate allows.
        "ws": LeanWebSocketProtocol if "lean_websocket" in overrides else "websockets-sansio",
        # Engine.IO's own heartbeat already finds dead peers; a websocket ping beside it cost a
        # timer per socket and a wake-up every 20 s.
        "ws_ping_interval": None,
        # Off, as in Socket.IO's own server: compression state costs memory on every socket
        # and the events are small.
        "ws_per_message_deflate": False,
        "server_header": False,  # no `server: uvicorn`: it tells a scanner what to try
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 on its own, beside
        # SEAM_TRUSTED_PROXIES, which is documented as the only trust (web/forwarded.py).
        "proxy_headers": False,
    }


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    asyncio.run(_upgrade(create_app(_settings())))
    typer.echo("Database schema is up to date.")


@app.command("bootstrap")
def run_bootstrap() -> None:
    """Create missing route permissions, roles and the admin user (idempotent)."""
    settings = _settings()
    report = asyncio.run(_prepare(create_app(settings)))
    _announce(report, settings.admin_email.lower())
    typer.echo(f"Bootstrap done: {report.permissions_created} permissions created.")


def _read_password() -> str:
    """Prompted twice on a terminal; otherwise the first line of stdin (for scripts)."""
    if sys.stdin.isatty():
        password: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        typer.echo(
            f"seam-api: the password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            err=True,
        )
        raise typer.Exit(2)
    return password


async def _on_account(application: Application, change: Awaitable[None]) -> None:
    seam = application.seam
    try:
        await change
    finally:
        await seam.bus.stop()
        await seam.db.dispose()


def _run_account_change(settings: Settings, make: Callable[[Application], Awaitable[None]]) -> None:
    application = create_app(settings)
    try:
        asyncio.run(_on_account(application, make(application)))
    except AccountError as error:
        typer.echo(f"seam-api: {error}", err=True)
        raise typer.Exit(1) from None


@app.command("backup")
def run_backup(file: Annotated[Path, typer.Argument(help="Where to write the copy")]) -> None:
    """Copy the running SQLite database to FILE, consistently (SQLite's online backup)."""
    database = _sqlite_database(_settings())
    try:
        last = backup.backup(database, file)
    except backup.BackupError as error:
        typer.echo(f"seam-api: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Backed up {database} to {file} (last event {last}).")


@app.command("restore")
def run_restore(
    file: Annotated[Path, typer.Argument(help="A copy made by `seam-api backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database newer than the backup")
    ] = False,
) -> None:
    """Put a backup in place of the SQLite database. Stop the server first; every session
    ends, and event ids continue above the replaced database's."""
    database = _sqlite_database(_settings())
    try:
        last = backup.restore(file, database, force=force)
    except backup.BackupError as error:
        typer.echo(f"seam-api: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Restored {file} to {database}; new events continue after {last}.")


def _sqlite_database(settings: Settings) -> Path:
    path = settings.sqlite_path
    if path is None:
        typer.echo(
            "seam-api: backup and restore are for SQLite; for PostgreSQL and MariaDB use "
            "pg_dump or mariadb-dump (docs/operations.md)",
            err=True,
        )
        raise typer.Exit(2)
    return path


@admin_app.command("set-password")
def admin_set_password(email: Annotated[str, typer.Argument(help="The account's email")]) -> None:
    """Set an account's password (prompted, or read from stdin) and end all its sessions."""
    settings = _settings()
    password = _read_password()
    _run_account_change(
        settings, lambda application: set_password(application.seam, email=email, password=password)
    )
    typer.echo(f"Password set for {email}; its earlier sessions are revoked.")


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Argument(help="The new admin's email")],
    full_name: Annotated[str, typer.Option("--name", help="Full name")] = "Administrator",
) -> None:
    """Create an account in the admin role (password prompted, or read from stdin)."""
    settings = _settings()
    try:
        email = TypeAdapter(Email).validate_python(email)
    except ValidationError:
        typer.echo(f"seam-api: {email!r} is not a deliverable email address", err=True)
        raise typer.Exit(2) from None
    password = _read_password()
    _run_account_change(
        settings,
        lambda application: create_admin(
            application.seam, email=email, password=password, full_name=full_name
        ),
    )
    typer.echo(f"Admin created: {email}")
