"""The limiter's counts are checked and raised in one step, in process and in Redis: attempts
sent at once cannot all pass a check made before any of them was counted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from seam_api.core.errors import TooManyRequests
from seam_api.security.limits import LoginLimiter
from tests.conftest import REDIS_URL, SHARED_REDIS, unavailable

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

LIMITER_REDIS_URL = urlsplit(REDIS_URL)._replace(path="/7").geturl()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[LoginLimiter]:
    redis_url = None
    if request.param == "redis":
        redis = Redis.from_url(LIMITER_REDIS_URL)
        try:
            await redis.ping()
        except Exception as error:
            unavailable("Redis", error)
        finally:
            await redis.aclose()
        redis_url = LIMITER_REDIS_URL
    limits = LoginLimiter(
        per_account=5,
        per_address=1000,
        registrations_per_address=3,
        window=60,
        redis_url=redis_url,
        key_prefix=f"test-{uuid.uuid4().hex}",
    )
    yield limits
    await limits.close()


async def admitted(limiter: LoginLimiter, account: str, address: str) -> bool:
    try:
        await limiter.admit_login(account, address)
    except TooManyRequests:
        return False
    return True


async def test_attempts_sent_at_once_are_admitted_up_to_the_limit(limiter: LoginLimiter) -> None:
    answers = await asyncio.gather(*(admitted(limiter, "id:1", "10.0.0.1") for _ in range(60)))

    assert sum(answers) == 5


async def test_a_success_gives_its_attempt_back_and_clears_its_address(
    limiter: LoginLimiter,
) -> None:
    for _ in range(4):
        await limiter.admit_login("id:1", "10.0.0.1")
    await limiter.succeeded(await limiter.admit_login("id:1", "10.0.0.1"))

    answers = [await admitted(limiter, "id:1", "10.0.0.1") for _ in range(6)]

    assert answers == [True] * 5 + [False]


async def test_registrations_sent_at_once_are_admitted_up_to_the_limit(
    limiter: LoginLimiter,
) -> None:
    async def registered() -> bool:
        try:
            await limiter.admit_registration("10.0.0.2")
        except TooManyRequests:
            return False
        return True

    answers = await asyncio.gather(*(registered() for _ in range(20)))

    assert sum(answers) == 3
