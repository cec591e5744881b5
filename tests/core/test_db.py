"""core/db: every way a database says "not now" (starting, shutting down, full, unreachable) is
a 503 with Retry-After, never a 500; real restarts of a throwaway PostgreSQL and of a throwaway
MariaDB under load show it too."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy import text as sql
from sqlalchemy.exc import TimeoutError as PoolTimeout

from seam_api.app import Application, create_app
from seam_api.bootstrap import bootstrap
from seam_api.core import migrate
from seam_api.core.db import (
    POOL_SIZE,
    WRITE_SLOTS,
    Database,
    _raise_unavailable_if_unreachable,
)
from seam_api.core.errors import Invalid, ServiceUnavailable
from seam_api.core.statements import DriverStatement
from seam_api.models import users
from tests import conftest
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AppFactory,
    bearer,
    free_port,
    login,
    unavailable,
)
from tests.helpers import API, unique


def _asyncpg_refusals() -> list[BaseException]:
    import asyncpg

    return [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CrashShutdownError("terminating connection due to crash"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        ConnectionResetError("connection reset by peer"),
        ConnectionRefusedError("connection refused"),
    ]


def _asyncmy_refusals() -> list[BaseException]:
    from asyncmy import errors

    return [
        errors.OperationalError(1040, "Too many connections"),
        errors.OperationalError(1053, "Server shutdown in progress"),
        errors.OperationalError(2002, "Can't connect to local server"),
        errors.OperationalError(2003, "Can't connect to server"),
        errors.OperationalError(2006, "Server has gone away"),
        errors.OperationalError(2013, "Lost connection to server during query"),
        ConnectionResetError("connection reset by peer"),
    ]


async def _with_connect_refused(
    application: Application, monkeypatch: pytest.MonkeyPatch, refusal: BaseException
) -> httpx.Response:
    """A mutation while every new connection is refused with `refusal`."""
    import asyncmy
    import asyncpg

    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        login = await http.post(
            f"{API}/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
        token = login.json()["data"]["token"]
        await application.seam.db.engine.dispose()  # no pooled connection to fall back on

        async def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise refusal

        for module in (asyncpg, asyncmy):
            monkeypatch.setattr(module, "connect", refuse)
        try:
            return await http.post(f"{API}/roles", headers=bearer(token), json={"roleName": "r1"})
        finally:
            monkeypatch.undo()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
async def test_a_database_that_cannot_take_connections_now_is_503_with_retry_after(
    make_app: AppFactory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = await make_app()
    refusals = _asyncpg_refusals() if backend == "postgresql" else _asyncmy_refusals()
    for refusal in refusals:
        answer = await _with_connect_refused(application, monkeypatch, refusal)
        assert answer.status_code == 503, (refusal, answer.text)
        assert answer.json() == {
            "success": False,
            "message": "The database is unavailable; try again shortly",
        }
        assert int(answer.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_pooled_connection_the_server_closed_is_replaced_before_use(
    make_app: AppFactory, backend: str
) -> None:
    # Without a ping per checkout: what asyncpg learnt when the server hung up must suffice.
    import asyncpg

    db = (await make_app()).seam.db
    async with db.read() as conn:
        pid = await conn.scalar(sql("SELECT pg_backend_pid()"))
    admin = await asyncpg.connect(conftest.POSTGRES_ADMIN_URL, timeout=5)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.5)  # the goodbye reaches the pooled connection's protocol
    async with db.read() as conn:
        assert await conn.scalar(sql("SELECT pg_backend_pid()")) != pid


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_read_on_postgresql_opens_no_transaction(
    databases: conftest.Databases, backend: str
) -> None:
    # No BEGIN before and no ROLLBACK after: each statement is a transaction of its own, so
    # `now()` (the transaction's start) moves between two statements of one read.
    db = Database(await databases.create(backend))
    try:
        async with db.read() as conn:
            first = await conn.scalar(sql("SELECT now()"))
            await asyncio.sleep(0.01)
            second = await conn.scalar(sql("SELECT now()"))
        async with db.transaction() as conn:
            begun = await conn.scalar(sql("SELECT now()"))
            await asyncio.sleep(0.01)
            assert await conn.scalar(sql("SELECT now()")) == begun
    finally:
        await db.dispose()
    assert second > first


async def _crowd(
    enter: Callable[[], AbstractAsyncContextManager[Any]],
    *,
    width: int,
    limit: int,
    then: Callable[[Any], Awaitable[Any]],
) -> tuple[int, list[Any]]:
    """`width` tasks each `enter()` and stay until `limit` of them are inside, and a moment
    more (time for one beyond the limit to get in, were it let); then each runs `then` on what
    it entered and leaves. The most inside at once, and what each `then` answered."""
    inside = most = 0
    full, release = asyncio.Event(), asyncio.Event()

    async def one() -> Any:
        nonlocal inside, most
        async with enter() as conn:
            inside += 1
            most = max(most, inside)
            if inside == limit:
                full.set()
            await release.wait()
            answer = await then(conn)
            inside -= 1
            return answer

    tasks = [asyncio.create_task(one()) for _ in range(width)]
    await asyncio.wait_for(full.wait(), 30)
    await asyncio.sleep(0.2)
    release.set()
    return most, list(await asyncio.wait_for(asyncio.gather(*tasks), 30))


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_bursts_beyond_the_pool_reuse_its_connections(
    databases: conftest.Databases, backend: str
) -> None:
    # Bursts wider than the pool wait for its connections rather than open (and then close)
    # more: at most POOL_SIZE are held at once, and the second burst runs on the first one's
    # server processes.
    db = Database(await databases.create(backend))

    async def backend_pid(conn: Any) -> int:
        return int(await conn.scalar(sql("SELECT pg_backend_pid()")))

    try:
        bursts = [
            await _crowd(db.read, width=POOL_SIZE + 10, limit=POOL_SIZE, then=backend_pid)
            for _ in range(2)
        ]
    finally:
        await db.dispose()
    (most_first, first), (most_second, second) = bursts
    assert most_first == most_second == POOL_SIZE
    assert len(set(first)) == POOL_SIZE and set(second) <= set(first)


def test_a_pool_with_every_connection_busy_for_too_long_is_a_503() -> None:
    with pytest.raises(ServiceUnavailable):
        _raise_unavailable_if_unreachable(PoolTimeout("QueuePool limit reached"))


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
async def test_write_transactions_queue_beyond_the_slots_and_nest_within_one(
    databases: conftest.Databases, backend: str
) -> None:
    db = Database(await databases.create(backend))

    async def nest(_conn: Any) -> None:
        async with db.transaction() as inner:  # its own slot is the outer one's
            await inner.execute(sql("SELECT 1"))

    try:
        most, _ = await _crowd(db.transaction, width=WRITE_SLOTS + 2, limit=WRITE_SLOTS, then=nest)
    finally:
        await db.dispose()
    assert most == WRITE_SLOTS


async def test_text_no_database_can_store_never_reaches_one(make_app: AppFactory) -> None:
    # Whatever route or schema let it through, the database layer refuses it as a 400.
    application = await make_app()
    for text in ("a\x00b", "lone \ud800"):
        with pytest.raises(Invalid) as refused:
            async with application.seam.db.read() as conn:
                await conn.execute(select(users.c.id_user).where(users.c.email == text))
        assert refused.value.status == 400


# -- transactions on asyncpg itself (PostgreSQL) ---------------------------------------------

_RENAME = DriverStatement(
    update(users)
    .where(users.c.id_user == bindparam("user_id"))
    .values(full_name=bindparam("name"))
    .returning(users.c.full_name)
)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_write_cancelled_midway_is_rolled_back_and_its_connection_pooled_clean(
    databases: conftest.Databases, backend: str
) -> None:
    # BEGIN and COMMIT are asyncpg's here: a cancelled block must end in a ROLLBACK, never a
    # COMMIT, and the connection must not go back to the pool inside a transaction.
    db = Database(await databases.create_ready(backend))
    started = asyncio.Event()

    async def slow_write() -> None:
        async with db.transaction() as conn:
            await _RENAME.row(conn, {"user_id": 1, "name": "Cancelled"})
            started.set()
            await conn.execute(sql("SELECT pg_sleep(5)"))

    try:
        task = asyncio.create_task(slow_write())
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(0.2)  # inside pg_sleep
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with db.transaction() as conn:
            in_transaction_since = await conn.scalar(
                sql("SELECT xact_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            )
            now = await conn.scalar(sql("SELECT now()"))
            full_name = await conn.scalar(select(users.c.full_name))
    finally:
        await db.dispose()
    assert full_name != "Cancelled"
    assert in_transaction_since == now  # a transaction of this block's own, not one left open


# -- a PostgreSQL of the test's own, to restart ----------------------------------------------


class OwnPostgres:
    """A throwaway PostgreSQL cluster in a temporary folder on a free port: restarting it
    disturbs nobody (the shared server on 5432 is others' too). As root it runs as `postgres`,
    since PostgreSQL refuses to run as root."""

    def __init__(self, folder: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        pg_ctl = found[-1] if found else shutil.which("pg_ctl")
        if pg_ctl is None:
            unavailable("PostgreSQL server binaries", FileNotFoundError("pg_ctl, initdb"))
        self.bin = Path(str(pg_ctl)).parent
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(folder, user="postgres")

    def _run(self, program: str, *arguments: str) -> None:
        command = [*self._as, str(self.bin / program), *arguments]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def _ctl(self, action: str, *options: str) -> None:
        server_options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        )
        log = str(self.folder / "postgres.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", server_options, "-w", *options, action
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    # Not pytest's tmp_path: its parent is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="seam-test-pg-"))
    try:
        server = OwnPostgres(folder)
        server.create()
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def app_on_own_postgres(own_postgres: OwnPostgres) -> AsyncIterator[Application]:
    application = create_app(conftest.test_settings(own_postgres.url))
    await migrate.upgrade(application.seam.db, None)
    await bootstrap(application.seam, application.routes)
    await application.seam.start()
    yield application
    await application.seam.stop()


async def _load_through(
    application: Application, outage: Callable[[], None]
) -> tuple[Counter[int], int, list[int]]:
    """Create roles and search users (a read no cache holds) from four clients while `outage`
    runs in a thread: the answers' statuses, how many 503s came without Retry-After, and the
    statuses of a create and a search once it has returned."""
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    statuses: Counter[int] = Counter()
    without_retry_after = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        headers = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        stop = asyncio.Event()

        async def load() -> None:
            nonlocal without_retry_after
            while not stop.is_set():
                for answer in await _create_and_search(http, headers):
                    statuses[answer.status_code] += 1
                    if answer.status_code == 503 and "Retry-After" not in answer.headers:
                        without_retry_after += 1
                await asyncio.sleep(0.01)

        loaders = [asyncio.create_task(load()) for _ in range(4)]
        await asyncio.sleep(1)
        await asyncio.to_thread(outage)
        await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*loaders)
        after = [answer.status_code for answer in await _create_and_search(http, headers)]
    return statuses, without_retry_after, after


async def _create_and_search(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> list[httpx.Response]:
    created = await http.post(f"{API}/roles", headers=headers, json={"roleName": unique("r")})
    found = await http.get(f"{API}/users", headers=headers, params={"search": unique("s")})
    return [created, found]


@pytest.mark.full_only  # a server of its own: not the fast subset's SQLite
async def test_a_postgres_restart_under_load_answers_503s_and_never_a_500(
    own_postgres: OwnPostgres, app_on_own_postgres: Application
) -> None:
    statuses, without_retry_after, after = await _load_through(
        app_on_own_postgres, own_postgres.restart
    )
    assert set(statuses) <= {200, 201, 503}, statuses
    assert statuses[201] > 0 and without_retry_after == 0
    assert after == [201, 200]


# -- a MariaDB of the test's own, to stop and start ------------------------------------------


class OwnMariaDB:
    """A throwaway MariaDB server: its own data folder, socket and free port, so stopping it
    disturbs nobody (the shared server on 3306 is others' too). As root it runs with
    `--user=root`, which mariadbd otherwise refuses."""

    def __init__(self, folder: Path) -> None:
        server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        install = shutil.which("mariadb-install-db")
        if not Path(server).exists() or install is None:
            missing = FileNotFoundError("mariadbd, mariadb-install-db")
            unavailable("MariaDB server binaries", missing)
        self.server, self.install = server, str(install)
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"mysql+asyncmy://root@127.0.0.1:{self.port}/seam?charset=utf8mb4"
        self._as = ["--user=root"] if os.geteuid() == 0 else []
        self._process: subprocess.Popen[bytes] | None = None

    def create(self) -> None:
        subprocess.run(
            [
                self.install,
                "--no-defaults",
                f"--datadir={self.data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *self._as,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        log = open(self.folder / "mariadb.log", "ab")  # noqa: SIM115 - the server's, kept open
        self._process = subprocess.Popen(
            [
                self.server,
                "--no-defaults",
                f"--datadir={self.data}",
                f"--socket={self.folder / 'mariadb.sock'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
                *self._as,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while not self._accepts():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.folder / "mariadb.log").read_text()[-2000:])
            time.sleep(0.1)

    def _accepts(self) -> bool:
        ping = ["mariadb-admin", "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", "ping"]
        return subprocess.run(ping, capture_output=True, timeout=10).returncode == 0

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: a clean shutdown that ends every client."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            self._process.wait(timeout=60)
        self._process = None

    def stop_and_start(self) -> None:
        self.stop()
        time.sleep(1)  # down for a while: new connections are refused meanwhile
        self.start()


@pytest.fixture
def own_mariadb() -> Iterator[OwnMariaDB]:
    folder = Path(tempfile.mkdtemp(prefix="seam-test-mariadb-"))
    try:
        server = OwnMariaDB(folder)
        try:
            server.create()
            server.start()
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            server.stop()
            unavailable("a MariaDB server of the test's own", error)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def app_on_own_mariadb(own_mariadb: OwnMariaDB) -> AsyncIterator[Application]:
    import asyncmy

    admin = await asyncmy.connect(host="127.0.0.1", port=own_mariadb.port, user="root")
    try:
        async with admin.cursor() as cursor:
            await cursor.execute("CREATE DATABASE seam CHARACTER SET utf8mb4")
    finally:
        admin.close()
    application = create_app(conftest.test_settings(own_mariadb.url))
    await migrate.upgrade(application.seam.db, None)
    await bootstrap(application.seam, application.routes)
    await application.seam.start()
    yield application
    await application.seam.stop()


@pytest.mark.full_only  # a server of its own: not the fast subset's SQLite
async def test_a_mariadb_stop_and_start_under_load_answers_503s_and_never_a_500(
    own_mariadb: OwnMariaDB, app_on_own_mariadb: Application
) -> None:
    statuses, without_retry_after, after = await _load_through(
        app_on_own_mariadb, own_mariadb.stop_and_start
    )
    assert set(statuses) <= {200, 201, 503}, statuses
    assert statuses[201] > 0 and statuses[503] > 0 and without_retry_after == 0
    assert after == [201, 200]
