"""The `seam-api` command as a real process (reference §10): first start, secrets, the other
commands, and several instances starting at once."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Databases, Server, start_server

SEAM_API = str(Path(sys.executable).with_name("seam-api"))
GENERATED_PASSWORD = re.compile(r"Password \(shown once\): (\S+)")
# Empty values count as unset: a first start with nothing configured but the database.
UNCONFIGURED = {"SEAM_ADMIN_PASSWORD": "", "SEAM_JWT_SECRET": ""}


def login_status(server: Server, email: str, password: str) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10
    )
    return response.status_code


def run(
    tmp: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `seam-api ARGS` in `tmp` on a SQLite database there, with `env` over it."""
    full_env = {
        **os.environ,
        "SEAM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'seam.db'}",
        "SEAM_ADMIN_EMAIL": ADMIN_EMAIL,
        "SEAM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **env,
    }
    return subprocess.run(
        [SEAM_API, *args],
        env=full_env,
        cwd=tmp,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server started in an empty directory with no admin password and no JWT secret."""
    tmp = tmp_path_factory.mktemp("first-start")
    running = start_server(tmp, UNCONFIGURED)
    yield running, tmp
    running.stop()


def test_first_start_prints_a_generated_password_that_signs_in(
    first_start: tuple[Server, Path],
) -> None:
    server, _tmp = first_start
    passwords = GENERATED_PASSWORD.findall(server.log.read_text())
    assert len(passwords) == 1
    assert login_status(server, ADMIN_EMAIL, passwords[0]) == 200


def test_first_start_prints_the_console_address_beside_the_password(
    first_start: tuple[Server, Path],
) -> None:
    server, _tmp = first_start
    assert f"Admin console: {server.url}/admin\n" in server.log.read_text()
    assert httpx.get(f"{server.url}/admin", timeout=10).status_code == 200


def test_first_start_serves_the_docs(first_start: tuple[Server, Path]) -> None:
    server, _tmp = first_start
    assert httpx.get(f"{server.url}/docs", timeout=10).status_code == 200


def test_first_start_keeps_the_generated_secret_beside_the_database(
    first_start: tuple[Server, Path],
) -> None:
    _server, tmp = first_start
    secret = tmp / "seam.db.secret"
    assert secret.is_file()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 32


def test_second_start_prints_no_password_and_honours_earlier_tokens(tmp_path: Path) -> None:
    first = start_server(tmp_path, UNCONFIGURED)
    try:
        (password,) = GENERATED_PASSWORD.findall(first.log.read_text())
        response = httpx.post(
            f"{first.url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": password},
            timeout=10,
        )
        token = response.json()["data"]["token"]
    finally:
        first.stop()
    second = start_server(tmp_path, UNCONFIGURED)
    try:
        assert "Password" not in second.log.read_text()
        headers = {"Authorization": f"Bearer {token}"}
        response = httpx.get(f"{second.url}/api/v1/roles", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
    finally:
        second.stop()


def test_db_upgrade_and_bootstrap_exit_zero(tmp_path: Path) -> None:
    upgrade = run(tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    first = run(tmp_path, "bootstrap")
    assert first.returncode == 0, first.stderr
    again = run(tmp_path, "bootstrap")
    assert again.returncode == 0, again.stderr
    assert "0 permissions created" in again.stdout


@pytest.mark.parametrize("secret", ["", "too-short-secret"])
def test_a_missing_or_short_jwt_secret_with_postgresql_is_refused(
    tmp_path: Path, secret: str
) -> None:
    result = run(
        tmp_path,
        "serve",
        SEAM_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        SEAM_JWT_SECRET=secret,
        SEAM_PORT="1",
    )
    assert result.returncode != 0
    assert "SEAM_JWT_SECRET" in result.stderr and "32 bytes" in result.stderr


async def test_two_servers_started_together_on_a_fresh_postgresql_database_both_serve(
    tmp_path: Path, databases: Databases
) -> None:
    url = await databases.create("postgresql")
    env = {"SEAM_DATABASE_URL": url}
    outcomes = await asyncio.gather(
        asyncio.to_thread(start_server, tmp_path, env, timeout=60),
        asyncio.to_thread(start_server, tmp_path, env, timeout=60),
        return_exceptions=True,
    )
    servers = [outcome for outcome in outcomes if isinstance(outcome, Server)]
    try:
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        async with httpx.AsyncClient(timeout=10) as http:
            for server in servers:
                response = await http.post(
                    f"{server.url}/api/v1/auth/login",
                    json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                )
                assert response.status_code == 200, response.text
            headers = {"Authorization": f"Bearer {response.json()['data']['token']}"}
            users = (await http.get(f"{servers[0].url}/api/v1/users", headers=headers)).json()
            permissions = (
                await http.get(f"{servers[1].url}/api/v1/permission", headers=headers)
            ).json()
        assert [user["email"] for user in users["data"]] == [ADMIN_EMAIL]
        names = [permission["nameUri"] for permission in permissions["data"]]
        assert len(names) == len(set(names))
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)
