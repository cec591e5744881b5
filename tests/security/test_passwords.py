"""Every character of a password counts: new hashes are Argon2id over the whole password, and
a bcrypt hash (which saw only 72 bytes) is replaced at the first login that proves it."""

from __future__ import annotations

import bcrypt
import httpx
import pytest
from sqlalchemy import select, update

from seam_api.app import Application
from seam_api.models import users
from seam_api.security import credentials
from tests.conftest import login
from tests.helpers import API, register


async def attempt(http: httpx.AsyncClient, email: str, password: str) -> int:
    answer = await http.post(f"{API}/auth/login", json={"email": email, "password": password})
    return answer.status_code


async def stored_hash(app: Application, user_id: int) -> str:
    async with app.seam.db.read() as conn:
        query = select(users.c.password_hash).where(users.c.id_user == user_id)
        return str((await conn.execute(query)).scalar_one())


async def test_a_password_differing_after_72_bytes_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers, password="A" * 72 + "right")

    assert await attempt(client, user["email"], "A" * 72 + "wrong") == 401
    assert await attempt(client, user["email"], "A" * 72 + "right") == 200


async def test_every_emoji_of_a_password_counts(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers, password="😀" * 18 + "🙂")

    assert await attempt(client, user["email"], "😀" * 18 + "🙃") == 401


async def test_a_bcrypt_hash_still_signs_in_and_becomes_argon2id(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    legacy = bcrypt.hashpw(b"old-node-password", bcrypt.gensalt(4)).decode()
    async with app.seam.db.transaction() as conn:
        query = update(users).where(users.c.id_user == user["idUser"])
        await conn.execute(query.values(password_hash=legacy))

    await login(client, user["email"], "old-node-password")

    assert (await stored_hash(app, user["idUser"])).startswith("$argon2id$")
    await login(client, user["email"], "old-node-password")
    assert await attempt(client, user["email"], "not-the-password") == 401


def test_outside_tests_hashing_is_rfc_9106_and_the_cheap_profile_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(credentials.TEST_HASHING, raising=False)
    real = credentials._password_hasher()
    assert (real.time_cost, real.memory_cost, real.parallelism) == (3, 65536, 4)
    assert real.hash("x").startswith("$argon2id$")
    monkeypatch.setenv(credentials.TEST_HASHING, "1")
    monkeypatch.delenv("PYTEST_VERSION")
    with pytest.raises(RuntimeError, match="test suite only"):
        credentials._password_hasher()
