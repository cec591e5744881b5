"""Connection state recovery (contract 5.4) with the official socket.io-client and no client code.

A tab's transport is cut (`socket.io.engine.close()`), another user makes five changes, and the
tab, once back, has exactly those five `data:changed`, in order, and `socket.recovered` is true.
The same across a restart of the instance that held the socket, and across two instances while
Redis is down; a cursor past the replay window gets `data:resync`; a disabled account's
reconnect is refused like any handshake.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Databases, bearer, login, start_server
from tests.e2e.tabs import Tabs
from tests.helpers import API, PASSWORD, register, unique
from tests.scaleout.conftest import (
    OwnRedis,
    instance_env,
    own_redis,
    start_instances,
    stop_instances,
)
from tests.server_process import free_port

SETTLE = 0.5  # time for an unexpected extra event to show up
# With the socket_server override off, a stock client reconnects without recovery and reloads.
NEEDS_PID = pytest.mark.needs_overrides("stock-client recovery needs the CONNECT reply's pid")
__all__ = ["own_redis"]  # the fixture, shared with the scale-out tests


@pytest.fixture
async def tabs() -> AsyncIterator[Tabs]:
    running = await Tabs.start()
    yield running
    await running.close()


class People:
    """The admin, a second admin who makes the changes, and a member who may not read users."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def setup(self) -> None:
        self.admin = bearer(await login(self.http, ADMIN_EMAIL, ADMIN_PASSWORD))
        self.admin_token = self.admin["Authorization"].removeprefix("Bearer ")
        roles = (await self.http.get(f"{API}/roles", headers=self.admin)).json()["data"]
        admin_role = next(r["idRole"] for r in roles if r["roleName"] == "admin")
        other = await register(self.http, self.admin, role_id=admin_role)
        self.other = bearer(await login(self.http, other["email"], PASSWORD))
        member = await register(self.http, self.admin)
        self.member_id = int(member["idUser"])
        self.member_token = await login(self.http, member["email"], PASSWORD)
        self.target = int((await register(self.http, self.admin))["idUser"])

    async def five_changes(self, http: httpx.AsyncClient | None = None) -> list[dict[str, Any]]:
        """Three user edits and two new roles, by the second admin; their HTTP answers."""
        http = http or self.http
        answers = []
        for n in range(5):
            if n % 2 == 0:
                body = {"full_name": f"Name {n} {unique('x')}"}
                response = await http.put(
                    f"{API}/users/{self.target}", headers=self.other, json=body
                )
            else:
                body = {"roleName": unique("role")}
                response = await http.post(f"{API}/roles", headers=self.other, json=body)
            assert response.is_success, response.text
            answers.append(response.json())
        return answers


def changes_of(events: list[list[Any]]) -> list[list[Any]]:
    return [e for e in events if e[0] == "data:changed"]


def assert_the_five(received: list[list[Any]], answers: list[dict[str, Any]], *, reads_users: bool):
    """Exactly the five changes, in order, each with its eventId as the last argument."""
    assert [e[1]["operation"] for e in received] == ["user:edit", "role:create"] * 2 + ["user:edit"]
    ids = [int(e[1]["eventId"]) for e in received]
    assert ids == sorted(set(ids)), ids
    assert all(e[2] == e[1]["eventId"] for e in received)
    for (_name, payload, _offset), answer in zip(received, answers, strict=True):
        user_data = payload["operation"].startswith("user:")
        expected = answer["data"] if reads_users or not user_data else None
        assert payload["data"] == expected
        assert payload["message"] == answer["message"]


@pytest.fixture
async def server_people(tmp_path: Path) -> AsyncIterator[tuple[str, People]]:
    server = start_server(tmp_path, {})
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            people = People(http)
            await people.setup()
            yield server.url, people
    finally:
        server.stop()


@NEEDS_PID
async def test_a_cut_tab_recovers_exactly_the_changes_it_missed(
    tabs: Tabs, server_people: tuple[str, People]
) -> None:
    url, people = server_people
    reconnecting = {"reconnection": True, "reconnectionDelay": 1500}
    assert (await tabs.open("A", url, people.admin_token, **reconnecting))["recovered"] is False
    await tabs.open("M", url, people.member_token, transports=["polling"], **reconnecting)
    first = await tabs.events("A")
    assert first[0][0] == "data:synced" and first[0][2] == first[0][1]["eventId"]
    await tabs.command("clear", "A")
    await tabs.command("clear", "M")

    await tabs.command("cut", "A")
    await tabs.command("cut", "M")
    answers = await people.five_changes()

    for name in ("A", "M"):
        back = await tabs.command("waitConnected", name)
        assert back["recovered"] is True, back
        await tabs.command("wait", name, count=5)
    await asyncio.sleep(SETTLE)
    admin_events, member_events = await tabs.events("A"), await tabs.events("M")
    assert changes_of(admin_events) == admin_events  # no data:synced, nothing else
    assert_the_five(admin_events, answers, reads_users=True)
    assert_the_five(changes_of(member_events), answers, reads_users=False)


async def test_a_disabled_accounts_reconnect_is_refused(
    tabs: Tabs, server_people: tuple[str, People]
) -> None:
    url, people = server_people
    await tabs.open("M", url, people.member_token)
    await tabs.command("cut", "M")
    response = await people.http.put(
        f"{API}/users/{people.member_id}/state", headers=people.admin, json={"isActive": 0}
    )
    assert response.status_code == 200
    assert await tabs.command("reconnect", "M") == {"error": "Invalid or expired token"}


@NEEDS_PID
async def test_a_cursor_past_the_window_gets_data_resync(tabs: Tabs, tmp_path: Path) -> None:
    server = start_server(tmp_path, {"SEAM_EVENT_REPLAY_MAX": "3"})
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            people = People(http)
            await people.setup()
            await tabs.open("A", server.url, people.admin_token)
            await tabs.command("cut", "A")
            await tabs.command("clear", "A")
            await people.five_changes()
            back = await tabs.command("reconnect", "A")
            await asyncio.sleep(SETTLE)
            events = await tabs.events("A")
    finally:
        server.stop()
    assert back["recovered"] is False
    assert [e[0] for e in events] == ["data:resync", "data:synced"]
    assert events[0][1] == {"reason": "too_many"}


@NEEDS_PID
async def test_recovery_survives_a_restart_of_the_instance(tabs: Tabs, tmp_path: Path) -> None:
    port = free_port()
    server = start_server(tmp_path, {}, port=port)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            people = People(http)
            await people.setup()
            await tabs.open("A", server.url, people.admin_token)
            await tabs.command("cut", "A")
            await tabs.command("clear", "A")
            server.stop()
            server = start_server(tmp_path, {}, port=port)
            answers = await people.five_changes()
            back = await tabs.command("reconnect", "A")
            await tabs.command("wait", "A", count=5)
            await asyncio.sleep(SETTLE)
            events = await tabs.events("A")
    finally:
        server.stop()
    assert back["recovered"] is True
    assert_the_five(events, answers, reads_users=True)


@NEEDS_PID
async def test_changes_made_on_another_instance_while_redis_is_down_still_arrive(
    tabs: Tabs, databases: Databases, tmp_path: Path, own_redis: OwnRedis
) -> None:
    database_url = await databases.create("postgresql")
    instances = await start_instances(tmp_path, instance_env(database_url, own_redis.url), 2)
    try:
        here, there = instances
        people = People(here.http)
        await people.setup()
        await tabs.open("live", here.url, people.admin_token)
        await tabs.open("cut", here.url, people.admin_token)
        await tabs.command("cut", "cut")
        for name in ("live", "cut"):
            await tabs.command("clear", name)

        own_redis.stop()
        answers = await people.five_changes(there.http)
        live = (await tabs.command("wait", "live", count=5))["events"]  # polling the log
        assert_the_five(live, answers, reads_users=True)

        own_redis.start()
        back = await tabs.command("reconnect", "cut")
        await tabs.command("wait", "cut", count=5)
        await asyncio.sleep(3)  # the instances resubscribe to Redis: nothing may come twice
        events = {name: await tabs.events(name) for name in ("live", "cut")}
    finally:
        await stop_instances(instances)
    assert back["recovered"] is True
    assert_the_five(events["cut"], answers, reads_users=True)
    assert_the_five(events["live"], answers, reads_users=True)
