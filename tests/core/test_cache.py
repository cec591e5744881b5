"""The read cache: one load per key however many callers miss at once, no stale answer stored
across a change, and a cached list's JSON made once."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from seam_api.core.cache import ReadCache, SerialisedList
from seam_api.users.schemas import UserOut
from tests.loaders import Gated


async def test_concurrent_misses_share_one_load() -> None:
    cache, load = ReadCache(), Gated("answer")
    callers = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.release.set()
    assert await asyncio.gather(*callers) == ["answer"] * 20
    assert load.calls == 1
    assert await cache.get_or_load("k", load) == "answer"
    assert load.calls == 1


async def test_a_load_that_raced_a_change_is_not_kept() -> None:
    cache, stale = ReadCache(), Gated("stale")
    first = asyncio.create_task(cache.get_or_load("k", stale))
    await asyncio.sleep(0)
    cache.clear()  # a mutation committed while the query ran
    fresh = Gated("fresh")
    fresh.release.set()
    assert await cache.get_or_load("k", fresh) == "fresh"  # no wait for the stale load
    stale.release.set()
    assert await first == "stale"
    assert await cache.get_or_load("k", Gated("never")) == "fresh"


async def test_a_failed_load_fails_its_waiters_and_is_not_kept() -> None:
    cache = ReadCache()
    gate = asyncio.Event()

    async def failing() -> object:
        await gate.wait()
        raise ConnectionError("database down")

    callers = [asyncio.create_task(cache.get_or_load("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    working = Gated("answer")
    working.release.set()
    assert await cache.get_or_load("k", working) == "answer"


async def test_waiters_load_for_themselves_when_the_shared_load_is_cancelled() -> None:
    cache, first = ReadCache(), Gated("first")
    leader = asyncio.create_task(cache.get_or_load("k", first))
    await asyncio.sleep(0)
    second = Gated("second")
    second.release.set()
    waiter = asyncio.create_task(cache.get_or_load("k", second))
    await asyncio.sleep(0)
    leader.cancel()
    assert await waiter == "second"
    with pytest.raises(asyncio.CancelledError):
        await leader


def test_serialised_list_carries_the_same_json_as_its_items() -> None:
    users = [
        UserOut(
            id_user=n,
            full_name=f"User {n}",
            email=f"u{n}@seam.test",
            role_id=2,
            role_name="user",
            role_description=None,
            is_active=1,
        )
        for n in range(3)
    ]
    cached = SerialisedList(users)
    assert cached == users
    assert orjson.loads(cached.json) == [user.model_dump(by_alias=True) for user in users]
    assert orjson.loads(cached.json)[0]["idUser"] == 0
