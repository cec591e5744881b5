"""`seam-api admin set-password` and `admin create`: account recovery from the command line,
each ending the account's earlier sessions; and the bootstrap saying it changed nothing."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    JWT_SECRET,
    REDIS_URL,
    SHARED_REDIS,
    start_server,
)
from tests.test_cli import run

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

NEW_PASSWORD = "recovered-password-1"
ROLES = "/api/v1/roles"


def _token(url: str, email: str, password: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["token"])


def _status(url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{url}{ROLES}", headers=headers, timeout=30).status_code


def test_bootstrap_with_a_password_on_an_existing_admin_says_it_changed_nothing(
    tmp_path: Path,
) -> None:
    assert run(tmp_path, "bootstrap").returncode == 0
    again = run(tmp_path, "bootstrap", SEAM_ADMIN_PASSWORD="another-password-2")
    assert again.returncode == 0, again.stderr
    assert "changed nothing" in again.stdout
    assert f"seam-api admin set-password {ADMIN_EMAIL}" in again.stdout


def test_set_password_from_stdin_replaces_it_and_revokes_earlier_tokens(tmp_path: Path) -> None:
    server = start_server(tmp_path, {})
    try:
        old_token = _token(server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    finally:
        server.stop()
    result = run(tmp_path, "admin", "set-password", ADMIN_EMAIL, stdin=NEW_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert NEW_PASSWORD not in result.stdout + result.stderr
    server = start_server(tmp_path, {})
    try:
        assert _status(server.url, old_token) == 401
        new_token = _token(server.url, ADMIN_EMAIL, NEW_PASSWORD)
        assert _status(server.url, new_token) == 200
        login = httpx.post(
            f"{server.url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            timeout=30,
        )
        assert login.status_code == 401
    finally:
        server.stop()


def test_set_password_reaches_a_running_instance_through_redis(tmp_path: Path) -> None:
    env = {"SEAM_REDIS_URL": REDIS_URL, "SEAM_REDIS_PREFIX": f"cli{tmp_path.name[-8:]}"}
    server = start_server(tmp_path, env)
    try:
        old_token = _token(server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert _status(server.url, old_token) == 200
        result = run(
            tmp_path,
            "admin",
            "set-password",
            ADMIN_EMAIL,
            stdin=NEW_PASSWORD,
            SEAM_JWT_SECRET=JWT_SECRET,
            **env,
        )
        assert result.returncode == 0, result.stderr
        assert _status(server.url, old_token) == 401
    finally:
        server.stop()


def test_set_password_of_an_unknown_account_fails_and_names_it(tmp_path: Path) -> None:
    assert run(tmp_path, "bootstrap").returncode == 0
    result = run(tmp_path, "admin", "set-password", "nobody@example.com", stdin=NEW_PASSWORD)
    assert result.returncode == 1
    assert "nobody@example.com" in result.stderr


def test_a_too_short_password_is_refused(tmp_path: Path) -> None:
    assert run(tmp_path, "bootstrap").returncode == 0
    result = run(tmp_path, "admin", "set-password", ADMIN_EMAIL, stdin="abc\n")
    assert result.returncode == 2
    assert "characters" in result.stderr


def test_admin_create_adds_an_admin_who_reaches_admin_routes(tmp_path: Path) -> None:
    assert run(tmp_path, "bootstrap").returncode == 0
    created = run(tmp_path, "admin", "create", "second@example.com", stdin=NEW_PASSWORD)
    assert created.returncode == 0, created.stderr
    again = run(tmp_path, "admin", "create", "second@example.com", stdin=NEW_PASSWORD)
    assert again.returncode == 1 and "admin set-password" in again.stderr
    server = start_server(tmp_path, {})
    try:
        token = _token(server.url, "second@example.com", NEW_PASSWORD)
        assert _status(server.url, token) == 200
    finally:
        server.stop()


def test_admin_create_refuses_an_address_that_is_not_an_email(tmp_path: Path) -> None:
    result = run(tmp_path, "admin", "create", "not-an-email", stdin=NEW_PASSWORD)
    assert result.returncode == 2
    assert "not-an-email" in result.stderr
