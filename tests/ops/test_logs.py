"""Logs: one access line per request carrying its request id, JSON when asked, and no
secret in any line."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from seam_api.core.context import current
from seam_api.ops import logs
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, start_server
from tests.helpers import API

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@ON_SQLITE
async def test_a_given_request_id_is_echoed_and_kept_in_the_context(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "edge-42.a:b"})
    assert response.headers["X-Request-ID"] == "edge-42.a:b"
    context = current()
    assert context is not None and context.request_id == "edge-42.a:b"


@ON_SQLITE
@pytest.mark.parametrize("given", ["", "has space", "x" * 129, "new\\nline", "<script>"])
async def test_an_unfit_request_id_is_replaced_by_a_generated_one(
    client: httpx.AsyncClient, given: str
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": given})
    assert GENERATED_ID.match(response.headers["X-Request-ID"])


@ON_SQLITE
async def test_each_request_gets_its_own_generated_id_even_on_errors(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/healthz")
    second = await client.get(f"{API}/users")  # 401
    assert second.status_code == 401
    ids = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ids) == 2 and all(GENERATED_ID.match(value) for value in ids)


@ON_SQLITE
async def test_one_access_line_per_request_with_its_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=logs.ACCESS_LOGGER):
        response = await client.get(f"{API}/users?limit=5", headers={"X-Request-ID": "abc-1"})
    lines = [record for record in caplog.records if record.name == logs.ACCESS_LOGGER]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status) == ("GET", f"{API}/users", 401)  # type: ignore[attr-defined]
    assert line.request_id == "abc-1" == response.headers["X-Request-ID"]  # type: ignore[attr-defined]


@ON_SQLITE
async def test_a_path_cannot_forge_a_text_log_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "/x%0D%0A2026-12-04 10:00:00,000 INFO seam_api.access [-] GET /admin 200%1B[31m"
    with caplog.at_level(logging.INFO, logger=logs.ACCESS_LOGGER):
        await client.get(f"{API}{forged}")
    (record,) = [r for r in caplog.records if r.name == logs.ACCESS_LOGGER]
    text = logs.TextFormatter(logs.TEXT_FORMAT).format(record)
    assert "\n" not in text and "\r" not in text and "\x1b" not in text
    assert "/x\\r\\n2026-12-04" in text and "\\x1b[31m" in text  # visible, escaped


def test_json_format_is_one_object_with_the_request_id() -> None:
    record = logging.LogRecord(
        "seam_api.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None
    )
    logs.RequestIdFilter().filter(record)
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["message"] == "hello you"
    assert entry["level"] == "warning" and entry["request_id"] == "-"


def test_no_secret_token_or_password_in_any_log_line(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Everything a session does with secrets, at DEBUG, in JSON: no line carries one."""
    server = start_server(
        tmp_path_factory.mktemp("logs"), {"SEAM_LOG_FORMAT": "json", "SEAM_LOG_LEVEL": "debug"}
    )
    secrets = [ADMIN_PASSWORD, JWT_SECRET, "$2b$", "$argon2"]  # either hash scheme
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            login = http.post(
                f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            token = login.json()["data"]["token"]
            secrets.append(token)
            admin = {"Authorization": f"Bearer {token}", "X-Request-ID": "trace-me"}
            member_password = "member-secret-password-9"
            secrets.append(member_password)
            user = http.post(
                f"{API}/auth/register",
                headers=admin,
                json={
                    "full_name": "Log Test",
                    "email": "logs@example.com",
                    "password": member_password,
                },
            ).json()["data"]
            http.post(
                f"{API}/auth/login",
                json={"email": "logs@example.com", "password": "wrong-password-77"},
            )
            secrets.append("wrong-password-77")
            reset = http.put(f"{API}/users/{user['idUser']}/resetPassword", headers=admin)
            secrets.append(reset.json()["data"]["temporaryPassword"])
            new_password = "changed-password-5"
            secrets.append(new_password)
            http.put(
                f"{API}/users/{user['idUser']}", headers=admin, json={"password": new_password}
            )
            http.post(
                f"{API}/auth/register",
                headers=admin,
                json={"email": 1, "password": "bad-body-pass"},
            )
            secrets.append("bad-body-pass")
            http.post(f"{API}/auth/logout", headers=admin)
    finally:
        server.stop()
    text = server.log.read_text()
    for secret in secrets:
        assert secret not in text, secret
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [entry for entry in entries if entry["logger"] == logs.ACCESS_LOGGER]
    assert len(access) >= 8
    assert any(entry["request_id"] == "trace-me" for entry in access)
