"""The login limit counts per account as the database sees accounts, and self-registration is
limited per address before any password is hashed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select

from seam_api.app import Application
from seam_api.models import users
from seam_api.security import credentials as security
from tests.conftest import AppFactory
from tests.helpers import API, PASSWORD, register, unique
from tests.security.test_login import assert_throttled, client_at, new_address


@pytest.mark.parametrize("backend", ["mariadb"])  # only its collation takes `tárget` for `target`
async def test_spellings_the_database_takes_for_one_account_share_its_limit(
    make_app: AppFactory,
) -> None:
    application = await make_app(
        login_max_failures_per_account=3, login_max_failures_per_address=100
    )
    local = unique("target")
    async with client_at(application, new_address()) as http:
        admin = await http.post(
            f"{API}/auth/login", json={"email": "admin@example.com", "password": "admin-password-1"}
        )
        headers = {"Authorization": f"Bearer {admin.json()['data']['token']}"}
        await register(http, headers, email=f"{local}@example.com")
        for accented in ("á", "à", "â"):
            spelling = f"{local.replace('a', accented, 1)}@example.com"
            body = {"email": spelling, "password": "not-the-password"}
            assert (await http.post(f"{API}/auth/login", json=body)).status_code == 401
        body = {"email": f"{local}@example.com", "password": PASSWORD}
        assert_throttled(await http.post(f"{API}/auth/login", json=body), window=900)


@pytest.mark.parametrize("backend", ["sqlite"])  # the key is computed above the database
async def test_spellings_of_an_email_without_an_account_share_one_limit(
    make_app: AppFactory,
) -> None:
    application = await make_app(
        login_max_failures_per_account=3, login_max_failures_per_address=100
    )
    local = unique("nobody")
    async with client_at(application, new_address()) as http:
        for spelling in ("ó", "ò", "Ô"):
            body = {
                "email": f"{local.replace('o', spelling, 1)}@example.com",
                "password": "not-the-password",
            }
            assert (await http.post(f"{API}/auth/login", json=body)).status_code == 401
        body = {"email": f"{local}@example.com", "password": PASSWORD}
        assert_throttled(await http.post(f"{API}/auth/login", json=body), window=900)


async def count_users(application: Application) -> int:
    async with application.seam.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


class CountedSlots(security._HashSlots):
    """The server's bound on hashes in flight, counting every hash asked for."""

    def __init__(self) -> None:
        super().__init__(security.MAX_HASHES_IN_FLIGHT)
        self.asked = 0

    @contextmanager
    def take(self) -> Iterator[None]:
        self.asked += 1
        with super().take():
            yield


async def test_self_registrations_sent_at_once_stop_at_the_limit(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = await make_app(self_registration=True, registrations_per_address=3)
    before = await count_users(application)
    slots = CountedSlots()
    monkeypatch.setattr(security, "hash_slots", slots)

    async def sign_up(http: httpx.AsyncClient) -> httpx.Response:
        body = {
            "full_name": "Someone",
            "email": f"{unique('self')}@example.com",
            "password": PASSWORD,
        }
        return await http.post(f"{API}/auth/register", json=body)

    async with client_at(application, new_address()) as http:
        answers = await asyncio.gather(*(sign_up(http) for _ in range(20)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 3 + [429] * 17
    assert slots.asked == 3  # refused registrations are refused before their password is hashed
    assert await count_users(application) == before + 3
