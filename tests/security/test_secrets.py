"""Reference §2 and 10: passwords exist only as Argon2id hashes, and neither they nor their hashes
reach an answer, an event or a log; a reset shows a random password once; a signing secret
shorter than 32 bytes, or a secret file that is empty, unreadable or readable by others, stops
the server at start on every database; the SQLite files are the owner's alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from argon2 import PasswordHasher
from sqlalchemy import select

from seam_api.app import Application
from seam_api.models import users
from seam_api.settings import Settings
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    SHARED_REDIS,
    AppFactory,
    Databases,
    Server,
    bearer,
    login,
)

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

API = "/api/v1"
# The profile is the test suite's cheap one; the production profile is checked in test_passwords.
HASH_PREFIX = "$argon2id$v=19$"
SHORT_SECRET = "s" * 31
ENOUGH_SECRET = "s" * 32
# Answers and logs do not depend on the database; storage is checked on every backend.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
SERVER_DATABASES = {
    "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:5432/seam_unused",
    "mariadb": "mysql+asyncmy://root@127.0.0.1:3306/seam_unused",
}


def new_password() -> str:
    """A password no log line, event or answer could contain by chance."""
    return f"pw-{uuid.uuid4().hex}"


def new_email() -> str:
    return f"secret-{uuid.uuid4().hex[:12]}@example.com"


async def stored_hash(application: Application, user_id: int) -> str:
    async with application.seam.db.read() as conn:
        query = select(users.c.password_hash).where(users.c.id_user == user_id)
        return str((await conn.execute(query)).scalar_one())


@dataclass
class Flow:
    """Every password a run used, and every answer it got."""

    passwords: list[str] = field(default_factory=list)
    answers: list[httpx.Response] = field(default_factory=list)


async def password_flow(http: httpx.AsyncClient, admin: dict[str, str]) -> Flow:
    """Register, sign in, fail to sign in, change the password, reset it, read the user."""
    flow = Flow()
    first, second, wrong = new_password(), new_password(), new_password()
    flow.passwords += [first, second, wrong]
    email = new_email()

    async def call(method: str, path: str, **options: Any) -> httpx.Response:
        answer = await http.request(method, f"{API}{path}", **options)
        flow.answers.append(answer)
        return answer

    body = {"full_name": "Secret Keeper", "email": email, "password": first}
    registered = await call("POST", "/auth/register", headers=admin, json=body)
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["data"]["idUser"]
    assert (await call("POST", "/auth/login", json={"email": email, "password": first})).is_success
    await call("POST", "/auth/login", json={"email": email, "password": wrong})
    await call("PUT", f"/users/{user_id}", headers=admin, json={"password": second})
    reset = await call("PUT", f"/users/{user_id}/resetPassword", headers=admin)
    flow.passwords.append(reset.json()["data"]["temporaryPassword"])
    await call("GET", f"/users/{user_id}", headers=admin)
    await call("GET", "/users", headers=admin, params={"limit": 200})
    return flow


def leaked(text: str, passwords: list[str]) -> list[str]:
    """Which secrets (the passwords, any bcrypt or Argon2 hash, the hash's column name) `text`
    holds."""
    markers = [*passwords, "$2b$", "$argon2", "password_hash"]
    return [marker for marker in markers if marker in text]


# -- storage ---------------------------------------------------------------------------------


async def test_passwords_are_stored_as_argon2id_hashes(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first, second = new_password(), new_password()
    body = {"full_name": "Hash Check", "email": new_email(), "password": first}
    answer = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    user_id = answer.json()["data"]["idUser"]
    after_register = await stored_hash(app, user_id)
    change = {"password": second}
    await client.put(f"{API}/users/{user_id}", headers=admin_headers, json=change)
    after_change = await stored_hash(app, user_id)
    reset = await client.put(f"{API}/users/{user_id}/resetPassword", headers=admin_headers)
    temporary = reset.json()["data"]["temporaryPassword"]
    after_reset = await stored_hash(app, user_id)

    for password, stored in (
        (first, after_register),
        (second, after_change),
        (temporary, after_reset),
    ):
        assert stored.startswith(HASH_PREFIX), stored
        assert PasswordHasher().verify(stored, password)


async def test_the_bootstrapped_admin_password_is_an_argon2id_hash(
    app: Application,
) -> None:
    async with app.seam.db.read() as conn:
        query = select(users.c.password_hash).where(users.c.email == ADMIN_EMAIL)
        stored = str((await conn.execute(query)).scalar_one())

    assert stored.startswith(HASH_PREFIX)


# -- answers ---------------------------------------------------------------------------------


@SQLITE_ONLY
async def test_no_answer_carries_a_password_or_a_hash(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    flow = await password_flow(client, admin_headers)
    reset_answer = next(a for a in flow.answers if a.url.path.endswith("/resetPassword"))

    for answer in flow.answers:
        # The reset answer is where the temporary password is shown, once, by design.
        secrets = flow.passwords[:-1] if answer is reset_answer else flow.passwords
        assert leaked(answer.text, secrets) == [], (answer.url, answer.text)


@SQLITE_ONLY
async def test_each_reset_gives_a_new_random_password_and_only_the_latest_signs_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    email = new_email()
    body = {"full_name": "Reset Twice", "email": email, "password": new_password()}
    answer = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    reset_path = f"{API}/users/{answer.json()['data']['idUser']}/resetPassword"
    first = (await client.put(reset_path, headers=admin_headers)).json()["data"]
    second = (await client.put(reset_path, headers=admin_headers)).json()["data"]

    assert set(first) == set(second) == {"temporaryPassword"}
    assert first["temporaryPassword"] != second["temporaryPassword"]
    assert len(second["temporaryPassword"]) >= 12
    old = {"email": email, "password": first["temporaryPassword"]}
    assert (await client.post(f"{API}/auth/login", json=old)).status_code == 401
    await login(client, email, second["temporaryPassword"])


# -- logs ------------------------------------------------------------------------------------


@SQLITE_ONLY
async def test_no_log_record_carries_a_password_even_at_debug_level(
    client: httpx.AsyncClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    flow = await password_flow(client, admin_headers)

    assert [password for password in flow.passwords if password in caplog.text] == []


@SQLITE_ONLY
async def test_no_log_record_carries_a_password_hash_at_the_servers_level(
    client: httpx.AsyncClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """`seam-api serve` logs at INFO; the app's own loggers are checked down to DEBUG."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="seam_api")
    flow = await password_flow(client, admin_headers)

    assert leaked(caplog.text, flow.passwords) == []


# -- events and the server's output (a real server) -------------------------------------------


@dataclass
class WireFlow:
    flow: Flow
    events: list[tuple[str, Any]]
    log: str


@pytest.fixture(scope="module")
async def wire_flow(server: Server) -> AsyncIterator[WireFlow]:
    """The password flow run against a real server, with the admin's socket recording."""
    events: list[tuple[str, Any]] = []
    reset_done = asyncio.Event()
    tab = socketio.AsyncClient(reconnection=False)

    async def record(event: str, data: Any = None) -> None:
        events.append((event, data))
        if (
            isinstance(data, dict)
            and data.get("operation") == "user:resetPassword"
            and data.get("status") == "success"
        ):
            reset_done.set()

    tab.on("*", record)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        token = admin["Authorization"].removeprefix("Bearer ")
        await tab.connect(server.url, auth={"token": token}, transports=["websocket"])
        try:
            flow = await password_flow(http, admin)
            await asyncio.wait_for(reset_done.wait(), 10)
        finally:
            await tab.disconnect()
    yield WireFlow(flow=flow, events=events, log=server.log.read_text())


async def test_no_event_carries_a_password_or_a_hash(wire_flow: WireFlow) -> None:
    operations = {data.get("operation") for _event, data in wire_flow.events}
    assert {"auth:register", "user:edit", "user:resetPassword"} <= operations

    assert leaked(json.dumps(wire_flow.events), wire_flow.flow.passwords) == []


async def test_the_server_output_carries_no_password_or_hash(wire_flow: WireFlow) -> None:
    assert leaked(wire_flow.log, wire_flow.flow.passwords) == []


# -- the signing secret ----------------------------------------------------------------------

SHARED_SETUPS = {
    **{name: {"database_url": url} for name, url in SERVER_DATABASES.items()},
    "sqlite with redis": {"database_url": "sqlite+aiosqlite:///./seam.db", "redis_url": REDIS_URL},
}
EVERY_SETUP = {**SHARED_SETUPS, "sqlite": {"database_url": "sqlite+aiosqlite:///./seam.db"}}


@pytest.mark.parametrize("setup", SHARED_SETUPS.values(), ids=SHARED_SETUPS.keys())
@pytest.mark.parametrize("secret", [SHORT_SECRET, None], ids=["31 bytes", "unset"])
def test_a_short_or_missing_secret_is_refused_where_instances_share_tokens(
    setup: dict[str, str], secret: str | None
) -> None:
    settings = Settings(_env_file=None, jwt_secret=secret, **setup)

    with pytest.raises(ValueError, match="SEAM_JWT_SECRET"):
        _ = settings.signing_secret


@pytest.mark.parametrize("setup", EVERY_SETUP.values(), ids=EVERY_SETUP.keys())
def test_a_short_secret_is_refused_on_every_database(setup: dict[str, str]) -> None:
    settings = Settings(_env_file=None, jwt_secret="abc", **setup)

    with pytest.raises(ValueError, match="at least 32 bytes"):
        _ = settings.signing_secret


def sqlite_beside(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'seam.db'}")


def test_a_generated_secret_file_is_private_and_reused(tmp_path: Path) -> None:
    secret = sqlite_beside(tmp_path).signing_secret

    assert (tmp_path / "seam.db.secret").stat().st_mode & 0o777 == 0o600
    assert sqlite_beside(tmp_path).signing_secret == secret
    assert sorted(path.name for path in tmp_path.iterdir()) == ["seam.db.secret"]


@pytest.mark.parametrize(
    ("content", "mode", "complaint"),
    [
        ("", 0o600, "fewer than 32 bytes"),
        ("short", 0o600, "fewer than 32 bytes"),
        ("s" * 48, 0o644, "read by other users"),
        ("s" * 48, 0o640, "read by other users"),
    ],
    ids=["empty", "short", "world-readable", "group-readable"],
)
def test_a_weak_or_exposed_secret_file_is_refused(
    tmp_path: Path, content: str, mode: int, complaint: str
) -> None:
    path = tmp_path / "seam.db.secret"
    path.write_text(content)
    path.chmod(mode)

    with pytest.raises(ValueError, match=complaint):
        _ = sqlite_beside(tmp_path).signing_secret


def test_an_unreadable_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "seam.db.secret").mkdir()  # unreadable as a file, even by root

    with pytest.raises(ValueError, match="cannot read the JWT secret file"):
        _ = sqlite_beside(tmp_path).signing_secret


@SQLITE_ONLY
async def test_the_sqlite_files_are_readable_by_their_owner_only(
    make_app: AppFactory, databases: Databases
) -> None:
    # A database of its own, made by the server (not a copy of the suite's template).
    application = await make_app(database_url=await databases.create("sqlite"))
    database = application.seam.settings.sqlite_path
    assert database is not None
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application.asgi), base_url="http://seam.test"
    ) as http:
        await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        files = [database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))]

        modes = {path.name[-4:]: path.stat().st_mode & 0o777 for path in files}

    assert set(modes.values()) == {0o600}, modes


@pytest.mark.parametrize("setup", SHARED_SETUPS.values(), ids=SHARED_SETUPS.keys())
def test_a_secret_of_32_bytes_is_accepted(setup: dict[str, str]) -> None:
    """The control: the refusal is about length, not about these setups."""
    settings = Settings(_env_file=None, jwt_secret=ENOUGH_SECRET, **setup)

    assert settings.signing_secret == ENOUGH_SECRET


def test_the_secret_length_counts_bytes_not_characters() -> None:
    """11 three-byte characters are 33 bytes: long enough."""
    secret = "€" * 11
    settings = Settings(_env_file=None, jwt_secret=secret, **SHARED_SETUPS["postgresql"])

    assert settings.signing_secret == secret


@pytest.mark.parametrize("setup", ["postgresql", "sqlite with redis"])
def test_serve_exits_non_zero_with_a_short_secret(tmp_path: Path, setup: str) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SEAM_")}
    env.update(
        SEAM_JWT_SECRET=SHORT_SECRET,
        SEAM_DATABASE_URL=SHARED_SETUPS[setup]["database_url"],
        SEAM_PORT="1",  # never bound: the secret is refused first
    )
    if "redis_url" in SHARED_SETUPS[setup]:
        env["SEAM_REDIS_URL"] = SHARED_SETUPS[setup]["redis_url"]
    seam_api = Path(sys.executable).with_name("seam-api")

    result = subprocess.run(
        [str(seam_api), "serve"], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )

    assert result.returncode != 0
    assert b"SEAM_JWT_SECRET" in result.stderr
