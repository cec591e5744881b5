"""Reference §1 and 3: a failed login says nothing about why, takes about as long whatever the
reason, and is limited (429 with Retry-After) per account and client address, per address, and
per account from addresses it has never signed in from; attempts are counted before their
password is checked, in process or, with Redis, across every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from seam_api.app import Application
from seam_api.security import credentials as security
from seam_api.security.credentials import MAX_HASHES_IN_FLIGHT, hash_slots
from seam_api.security.limits import UNKNOWN_ADDRESS_FACTOR
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REDIS_URL,
    SHARED_REDIS,
    AppFactory,
    bearer,
    login,
    unavailable,
)

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

API = "/api/v1"
PASSWORD = "member-password-1"
# A database index of this module's own: the limiter's keys never meet other tests' keys.
LIMITER_REDIS_URL = urlsplit(REDIS_URL)._replace(path="/7").geturl()
TIMING_ROUNDS = 7


@pytest.fixture
def backend() -> str:
    """Login limits and timing live above the database: SQLite is enough."""
    return "sqlite"


@asynccontextmanager
async def client_at(application: Application, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests come from `address`."""
    transport = httpx.ASGITransport(
        app=application.asgi, raise_app_exceptions=False, client=(address, 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        yield http


def new_address() -> str:
    """A client address no other test uses (so address counts start at zero)."""
    value = uuid.uuid4().int
    return f"10.{value % 250}.{value // 250 % 250}.{value // 62500 % 250 + 1}"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


async def attempt(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post(f"{API}/auth/login", json={"email": email, "password": password})


async def registered(http: httpx.AsyncClient, *, active: bool = True) -> str:
    """A new user's email (password PASSWORD), disabled unless `active`."""
    admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
    email = new_email()
    body = {"full_name": "Login Tester", "email": email, "password": PASSWORD}
    answer = await http.post(f"{API}/auth/register", headers=admin, json=body)
    assert answer.status_code == 201, answer.text
    if not active:
        user_id = answer.json()["data"]["idUser"]
        state = await http.put(f"{API}/users/{user_id}/state", headers=admin, json={"isActive": 0})
        assert state.status_code == 200, state.text
    return email


def assert_throttled(answer: httpx.Response, window: int) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["success"] is False
    retry_after = answer.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit(), answer.headers
    assert 1 <= int(retry_after) <= window


# -- one answer, one duration ---------------------------------------------------------------


async def test_unknown_email_wrong_password_and_inactive_account_get_the_same_401(
    client: httpx.AsyncClient,
) -> None:
    inactive = await registered(client, active=False)
    answers = [
        await attempt(client, new_email(), PASSWORD),
        await attempt(client, ADMIN_EMAIL, "not-the-password"),
        await attempt(client, inactive, PASSWORD),
    ]
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.text for answer in answers}) == 1


async def test_failed_logins_take_comparable_time_whatever_the_reason(
    make_app: AppFactory,
) -> None:
    """Medians, interleaved rounds and a factor of two: a contract property, not a benchmark.

    An unknown email is checked against a dummy Argon2id hash, so it costs what a wrong password
    costs; an inactive account is refused only after its password has been checked.
    """
    application = await make_app(
        login_max_failures_per_account=1000, login_max_failures_per_address=1000
    )
    async with client_at(application, new_address()) as http:
        inactive = await registered(http, active=False)
        cases: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "unknown email": lambda: attempt(http, new_email(), PASSWORD),
            "wrong password": lambda: attempt(http, ADMIN_EMAIL, "not-the-password"),
            "inactive account": lambda: attempt(http, inactive, PASSWORD),
        }
        durations: dict[str, list[float]] = {name: [] for name in cases}
        for round_number in range(TIMING_ROUNDS + 1):
            for name, send in cases.items():
                started = time.perf_counter()
                answer = await send()
                elapsed = time.perf_counter() - started
                assert answer.status_code == 401, answer.text
                if round_number > 0:  # the first round warms caches and connections
                    durations[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in durations.items()}
    assert max(medians.values()) <= 2.0 * min(medians.values()), medians


# -- the limiter, in process ----------------------------------------------------------------


async def test_an_account_is_throttled_after_its_failures_even_with_the_right_password(
    make_app: AppFactory,
) -> None:
    application = await make_app(
        login_max_failures_per_account=3, login_max_failures_per_address=100
    )
    async with client_at(application, new_address()) as http:
        email = await registered(http)
        for _ in range(3):
            assert (await attempt(http, email, "not-the-password")).status_code == 401
        assert_throttled(await attempt(http, email, PASSWORD), window=900)


async def test_failures_from_one_address_leave_the_owners_login_from_another_alone(
    make_app: AppFactory,
) -> None:
    application = await make_app(
        login_max_failures_per_account=3, login_max_failures_per_address=100
    )
    async with client_at(application, new_address()) as attacker:
        email = await registered(attacker)
        for _ in range(3):
            await attempt(attacker, email, "not-the-password")
        assert_throttled(await attempt(attacker, email, PASSWORD), window=900)
    async with client_at(application, new_address()) as owner:
        assert (await attempt(owner, email, PASSWORD)).status_code == 200


async def assert_known_address_stays_open(home_app: Application, other_app: Application) -> None:
    """The owner signs in on `home_app`; failures from new addresses on `other_app` close the
    account to a new address on `home_app`, not to the owner's address on `other_app`."""
    home = new_address()
    async with client_at(home_app, home) as owner:
        email = await registered(owner)
        assert (await attempt(owner, email, PASSWORD)).status_code == 200
    for _ in range(UNKNOWN_ADDRESS_FACTOR):
        async with client_at(other_app, new_address()) as attacker:
            assert (await attempt(attacker, email, "not-the-password")).status_code == 401
    async with client_at(home_app, new_address()) as stranger:
        assert_throttled(await attempt(stranger, email, PASSWORD), window=900)
    async with client_at(other_app, home) as owner:
        assert (await attempt(owner, email, PASSWORD)).status_code == 200


async def test_failures_from_many_addresses_close_the_account_to_new_addresses_only(
    make_app: AppFactory,
) -> None:
    application = await make_app(
        login_max_failures_per_account=1, login_max_failures_per_address=100
    )
    await assert_known_address_stays_open(application, application)


async def test_guesses_sent_at_once_are_counted_before_any_is_checked(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = await make_app(
        login_max_failures_per_account=1, login_max_failures_per_address=1000
    )
    async with client_at(application, new_address()) as http:
        email = await registered(http)
        checked: list[str] = []
        verify = security._verify_sync

        def counted(password: str, password_hash: str) -> bool:
            checked.append(password)
            return verify(password, password_hash)

        # Only the admitted guess may cost a hash: refused ones are refused before the check.
        monkeypatch.setattr(security, "_verify_sync", counted)
        # No more than the server hashes at once, so none is refused for being busy: a limit
        # read before the check and counted after it would let every one of them be checked.
        guesses = [f"guess-{number}" for number in range(MAX_HASHES_IN_FLIGHT)]
        answers = await asyncio.gather(*(attempt(http, email, guess) for guess in guesses))
    assert sorted(answer.status_code for answer in answers) == [401] + [429] * (
        MAX_HASHES_IN_FLIGHT - 1
    )
    assert all("busy" not in answer.json()["message"] for answer in answers)
    assert len(checked) == 1, checked


async def test_hashes_beyond_the_bound_are_refused_at_once(make_app: AppFactory) -> None:
    application = await make_app()
    async with client_at(application, new_address()) as http:
        with contextlib.ExitStack() as held:
            for _ in range(MAX_HASHES_IN_FLIGHT):  # every slot busy with another hash
                held.enter_context(hash_slots.take())
            busy = await attempt(http, new_email(), PASSWORD)
        after = await attempt(http, new_email(), PASSWORD)
    assert busy.status_code == 429
    assert "busy" in busy.json()["message"]
    assert busy.headers["retry-after"] == "1"
    assert after.status_code == 401  # a slot free again: the login is checked


async def test_a_throttled_account_leaves_other_accounts_alone(make_app: AppFactory) -> None:
    application = await make_app(
        login_max_failures_per_account=3, login_max_failures_per_address=100
    )
    async with client_at(application, new_address()) as http:
        other = await registered(http)
        for _ in range(3):
            await attempt(http, ADMIN_EMAIL, "not-the-password")
        assert (await attempt(http, other, PASSWORD)).status_code == 200


async def test_an_address_is_throttled_after_its_failures_across_accounts(
    make_app: AppFactory,
) -> None:
    application = await make_app(
        login_max_failures_per_account=100, login_max_failures_per_address=3
    )
    async with client_at(application, new_address()) as http:
        for _ in range(3):
            assert (await attempt(http, new_email(), PASSWORD)).status_code == 401
        assert_throttled(await attempt(http, ADMIN_EMAIL, ADMIN_PASSWORD), window=900)


async def test_a_throttled_address_leaves_other_addresses_alone(make_app: AppFactory) -> None:
    application = await make_app(
        login_max_failures_per_account=100, login_max_failures_per_address=3
    )
    async with client_at(application, new_address()) as http:
        for _ in range(3):
            await attempt(http, new_email(), PASSWORD)
    async with client_at(application, new_address()) as elsewhere:
        assert (await attempt(elsewhere, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200


async def test_retry_after_counts_down_the_failure_window(make_app: AppFactory) -> None:
    application = await make_app(
        login_max_failures_per_account=1,
        login_max_failures_per_address=100,
        login_failure_window=60,
    )
    async with client_at(application, new_address()) as http:
        await attempt(http, ADMIN_EMAIL, "not-the-password")
        assert_throttled(await attempt(http, ADMIN_EMAIL, ADMIN_PASSWORD), window=60)


# -- the limiter in Redis: one count for every instance --------------------------------------


@pytest.fixture
async def limiter_redis() -> AsyncIterator[str]:
    """This module's Redis database, emptied: counts from an earlier run would throttle early."""
    redis = Redis.from_url(LIMITER_REDIS_URL)
    try:
        await redis.flushdb()
    except Exception as error:
        await redis.aclose()
        unavailable("Redis", error)
    yield LIMITER_REDIS_URL
    await redis.aclose()


async def two_instances(make_app: AppFactory, redis_url: str, **limits: int) -> list[Application]:
    """Two apps on one database and one Redis, as behind a load balancer."""
    first = await make_app(redis_url=redis_url, **limits)
    second = await make_app(
        redis_url=redis_url, database_url=first.seam.settings.database_url, **limits
    )
    return [first, second]


async def test_account_failures_on_one_instance_throttle_it_on_another(
    make_app: AppFactory, limiter_redis: str
) -> None:
    first, second = await two_instances(
        make_app,
        limiter_redis,
        login_max_failures_per_account=3,
        login_max_failures_per_address=100,
    )
    address = new_address()
    async with client_at(first, address) as http:
        for _ in range(3):
            assert (await attempt(http, ADMIN_EMAIL, "not-the-password")).status_code == 401
    async with client_at(second, address) as other_instance:
        assert_throttled(await attempt(other_instance, ADMIN_EMAIL, ADMIN_PASSWORD), window=900)


async def test_an_address_known_on_one_instance_stays_open_on_another(
    make_app: AppFactory, limiter_redis: str
) -> None:
    """Failures from many addresses close the account to new addresses on every instance, but
    not to the address its owner signed in from on another instance."""
    first, second = await two_instances(
        make_app,
        limiter_redis,
        login_max_failures_per_account=1,
        login_max_failures_per_address=100,
    )
    await assert_known_address_stays_open(first, second)
