"""The bus over a real Redis: notices reach the other instances of one deployment, and never
those of another deployment sharing the Redis server (pub/sub ignores database indexes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from seam_api.realtime.bus import Bus, Notice
from seam_api.settings import Settings
from tests.conftest import REDIS_URL, SHARED_REDIS, unavailable

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis


def redis_url(database: int) -> str:
    return urlsplit(REDIS_URL)._replace(path=f"/{database}").geturl()


def test_the_namespace_names_the_prefix_and_the_database() -> None:
    assert Settings(redis_url=redis_url(3)).redis_namespace == "seam:3"
    assert Settings(redis_url="redis://127.0.0.1:6379").redis_namespace == "seam:0"
    assert Settings(redis_url=redis_url(3), redis_prefix="crm").redis_namespace == "crm:3"


class Listener:
    """One instance's bus and the notices it heard from the others."""

    def __init__(self, settings: Settings) -> None:
        self.bus = Bus(settings.redis_url, channel=settings.redis_name("bus"))
        self.heard: list[Notice] = []
        self._arrived = asyncio.Condition()
        self.bus.on_notice(self._record)

    async def _record(self, notice: Notice) -> None:
        async with self._arrived:
            self.heard.append(notice)
            self._arrived.notify_all()

    async def heard_kind(self, kind: str) -> None:
        async with self._arrived:
            await self._arrived.wait_for(lambda: any(n.get("kind") == kind for n in self.heard))


@pytest.fixture
async def buses() -> AsyncIterator[list[Listener]]:
    """Two instances of a deployment on database 11, two of another deployment on 12."""
    probe = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await probe.ping()
    except Exception as error:
        unavailable("Redis", error)
    finally:
        await probe.aclose()
    listeners = [
        Listener(Settings(redis_url=redis_url(11))),
        Listener(Settings(redis_url=redis_url(11))),
        Listener(Settings(redis_url=redis_url(12))),
        Listener(Settings(redis_url=redis_url(12))),
    ]
    for listener in listeners:
        await listener.bus.start()
        await asyncio.wait_for(listener.bus.subscribed.wait(), 5)
    yield listeners
    for listener in listeners:
        await listener.bus.stop()


async def test_a_notice_reaches_its_own_deployment_only(buses: list[Listener]) -> None:
    sender, same_deployment, other_deployment, barrier = buses

    await sender.bus.publish({"kind": "permissions"})
    await barrier.bus.publish({"kind": "barrier"})
    # Redis delivers in the order it received the publishes: once the other deployment hears
    # the barrier, a leaked notice would already have arrived before it.
    await asyncio.wait_for(other_deployment.heard_kind("barrier"), 5)
    await asyncio.wait_for(same_deployment.heard_kind("permissions"), 5)

    assert [n["kind"] for n in other_deployment.heard] == ["barrier"]
    assert [n["kind"] for n in same_deployment.heard] == ["permissions"]
