"""The `seam-api` command: serve, db upgrade, bootstrap."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
import uvicorn

from seam_api.app import Application, create_app
from seam_api.bootstrap import BootstrapReport, bootstrap
from seam_api.console.router import CONSOLE_PATH
from seam_api.core import migrate
from seam_api.settings import Settings

app = typer.Typer(help="SEAM API: auth, permissions and live events for admin front ends.")
db_app = typer.Typer(help="Database schema.")
app.add_typer(db_app, name="db")


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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (SEAM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (SEAM_PORT)")] = None,
) -> None:
    """Apply pending migrations, bootstrap, and serve HTTP and Socket.IO on one port."""
    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    application = create_app(settings)
    report = asyncio.run(_prepare(application))
    _announce(report, settings.admin_email.lower())
    bind_host, bind_port = host or settings.host, port or settings.port
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
        http="httptools",
        ws="websockets-sansio",
        # Off, as in Socket.IO's own server: compression state costs memory on every socket
        # and the events are small.
        ws_per_message_deflate=False,
        # engine.io leaves long-polls pending for ~30 s after a client leaves; don't wait.
        timeout_graceful_shutdown=5,
        lifespan="on",
        access_log=False,
        log_level="info",
    )


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
