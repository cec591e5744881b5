"""Fixtures: real databases (SQLite always; PostgreSQL and MariaDB when reachable), apps built
on them, and a real `seam-api serve` process for the wire tests.

Each test session creates its own PostgreSQL and MariaDB databases and drops them at the end.
Off CI a missing server skips its tests with the reason; under `CI=true` it fails them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from seam_api.app import Application, create_app
from seam_api.bootstrap import bootstrap
from seam_api.core import migrate
from seam_api.settings import Settings
from tests import server_process
from tests.server_process import Server, free_port

__all__ = ["Server", "free_port"]  # re-exported: test modules import them from here

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long!"
POSTGRES_ADMIN_URL = os.environ.get(
    "SEAM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MARIADB_HOST = os.environ.get("SEAM_TEST_MARIADB_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("SEAM_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql", "mariadb")
# Settings the bootstrap reads: an app built with one of them gets a database of its own.
BOOTSTRAP_SETTINGS = {"admin_email", "admin_password", "default_role"}


def unavailable(what: str, error: BaseException) -> None:
    """Skip with the reason on a developer machine; fail under CI."""
    message = f"{what} is not reachable ({type(error).__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; CI requires it")
    pytest.skip(message)


async def _create_postgres(name: str, *, template: str | None = None) -> str:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        copying = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copying}')
    finally:
        await conn.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _drop_postgres(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _mariadb(*statements: str) -> list[Any]:
    """Run the statements on one connection; the rows of the last one."""
    import asyncmy

    conn = await asyncmy.connect(
        host=MARIADB_HOST, port=3306, user="root", password="", autocommit=True
    )
    try:
        async with conn.cursor() as cursor:
            for statement in statements:
                await cursor.execute(statement)
            return list(await cursor.fetchall())
    finally:
        conn.close()


async def _copy_mariadb(template: str, name: str) -> None:
    """MariaDB has no template databases: each table is re-created from its own definition
    (foreign keys included, which CREATE TABLE ... LIKE would drop) and filled from the copy."""
    tables = [row[0] for row in await _mariadb(f"SHOW TABLES FROM `{template}`")]
    definitions = [
        (await _mariadb(f"SHOW CREATE TABLE `{template}`.`{table}`"))[0][1] for table in tables
    ]
    await _mariadb(
        f"CREATE DATABASE `{name}`",
        f"USE `{name}`",
        "SET FOREIGN_KEY_CHECKS = 0",
        *definitions,
        *(f"INSERT INTO `{table}` SELECT * FROM `{template}`.`{table}`" for table in tables),
    )


class Databases:
    """Creates one database per backend per name, and drops them all at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[tuple[str, str]] = []
        # backend -> the name of a database migrated and bootstrapped with the test settings
        self.templates: dict[str, str] = {}

    async def create(self, backend: str, *, copy_of: str | None = None) -> str:
        """A new empty database of `backend` (or a copy of the database `copy_of`)."""
        name = f"seam_test_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            if copy_of is not None:
                shutil.copyfile(self.tmp / f"{copy_of}.db", self.tmp / f"{name}.db")
            return f"sqlite+aiosqlite:///{self.tmp / name}.db"
        try:
            if backend == "postgresql":
                url = await asyncio.wait_for(_create_postgres(name, template=copy_of), 10)
            else:
                if copy_of is None:
                    await asyncio.wait_for(_mariadb(f"CREATE DATABASE `{name}`"), 10)
                else:
                    await asyncio.wait_for(_copy_mariadb(copy_of, name), 30)
                url = f"mysql+asyncmy://root@{MARIADB_HOST}:3306/{name}?charset=utf8mb4"
        except Exception as error:
            unavailable(f"{backend} server", error)
        self.created.append((backend, name))
        return url

    async def create_ready(self, backend: str) -> str:
        """A database as a fresh start with the test settings leaves it (migrated, admin
        bootstrapped), copied from a template made once per backend and run: migrating and
        bootstrapping every test's database was most of the suite's time."""
        if backend not in self.templates:
            url = await self.create(backend)
            application = create_app(test_settings(url))
            await migrate.upgrade(application.seam.db, application.seam.settings.sqlite_path)
            await bootstrap(application.seam, application.routes)
            await application.seam.db.dispose()  # a template must have no open connection
            self.templates[backend] = url.rsplit("/", 1)[1].split("?")[0].removesuffix(".db")
        return await self.create(backend, copy_of=self.templates[backend])

    async def drop_all(self) -> None:
        for backend, name in self.created:
            if backend == "postgresql":
                await _drop_postgres(name)
            else:
                await _mariadb(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Databases]:
    registry = Databases(tmp_path_factory.mktemp("db"))
    yield registry
    await registry.drop_all()


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": JWT_SECRET,
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        **overrides,
    }
    return Settings(_env_file=None, **values)


AppFactory = Callable[..., Awaitable[Application]]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_app(databases: Databases, backend: str) -> AsyncIterator[AppFactory]:
    """Build started apps on a fresh, migrated and bootstrapped database of `backend`."""
    started: list[Application] = []

    async def factory(**overrides: Any) -> Application:
        url = overrides.pop("database_url", None)
        if url is None and not BOOTSTRAP_SETTINGS & overrides.keys():
            application = create_app(
                test_settings(await databases.create_ready(backend), **overrides)
            )
        else:
            url = url or await databases.create(backend)
            application = create_app(test_settings(url, **overrides))
            await migrate.upgrade(application.seam.db, application.seam.settings.sqlite_path)
            await bootstrap(application.seam, application.routes)
        await application.seam.start()
        started.append(application)
        return application

    yield factory
    for application in started:
        await application.seam.stop()


@pytest.fixture
async def app(make_app: AppFactory) -> Application:
    return await make_app()


@pytest.fixture
async def client(app: Application) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        yield http


async def login(http: httpx.AsyncClient, email: str, password: str) -> str:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(client, ADMIN_EMAIL, ADMIN_PASSWORD))


# -- a real server process ------------------------------------------------------------------


def start_server(
    tmp: Path, env: dict[str, str], *, timeout: float = 30, port: int | None = None
) -> Server:
    """A real server with the tests' admin and secret, `env` over them."""
    defaults = {
        "SEAM_ADMIN_EMAIL": ADMIN_EMAIL,
        "SEAM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SEAM_JWT_SECRET": JWT_SECRET,
    }
    return server_process.start_server(tmp, {**defaults, **env}, timeout=timeout, port=port)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server on SQLite for a test module."""
    running = start_server(tmp_path_factory.mktemp("server"), {})
    yield running
    running.stop()


# -- the fast subset ----------------------------------------------------------------------

# What `make test-fast` leaves out: the other databases, real browsers, other processes'
# clients, several instances, the load balancer and the fuzzer. What is left checks every
# route and rule on SQLite in-process, in a couple of minutes.
SLOW_PLACES = (
    "tests/console/test_",  # the browser's (tests/console/test_router.py is the API's: kept)
    "tests/test_backup.py",  # a server process under load
    "tests/test_cli.py",  # server processes started and stopped
    "tests/test_cli_admin.py",
    "tests/e2e/",
    "tests/scaleout/",
    "tests/deploy/",
    "tests/security/test_schemathesis.py",
    "tests/test_generated_client.py",
    "tests/test_packaging.py",
)


# CI runs the real-time suites a second time with every library override off (runtime/gate.py);
# a test of an override itself, or of what only it provides, is skipped in that run.
OVERRIDES_OFF = os.environ.get("SEAM_LIBRARY_OVERRIDES", "on").lower() in ("off", "false", "0")


# `make test` spreads the suite over the cores (pytest-xdist), then runs the modules marked
# `shared_redis` alone, one after another: they share the machine's Redis databases (fixed
# indexes they empty, or the default channel prefix, where one app would hear another's
# notices). xdist's `xdist_group` would say the same, but its `loadgroup` mode (3.8.0) spread a
# group over several workers here, so the Makefile runs them in a pass of their own.
SHARED_REDIS = pytest.mark.shared_redis


@pytest.hookimpl(tryfirst=True)  # before `-m` reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if OVERRIDES_OFF and item.get_closest_marker("needs_overrides"):
            reason = item.get_closest_marker("needs_overrides").args[0]  # type: ignore[union-attr]
            item.add_marker(pytest.mark.skip(reason=f"SEAM_LIBRARY_OVERRIDES=off: {reason}"))
        place = item.nodeid.split("::", 1)[0]
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
        slow = place.startswith(SLOW_PLACES) and place != "tests/console/test_router.py"
        if slow or backend in ("postgresql", "mariadb"):
            item.add_marker(pytest.mark.full_only)
