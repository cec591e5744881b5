"""realtime/guard.py: the bounds of contract 5.5 on the library's own server. What it closes is
tested in tests/security/test_socket_hygiene.py on both servers; here, that it closes nothing
else: a client that reads keeps its socket and every event, however many come, and a polling
client that keeps polling outlives the ping timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from seam_api.app import Application
from seam_api.cli import connection_options
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer, login
from tests.helpers import API
from tests.security import Tab
from tests.server_process import served_here

EVENTS = 40  # four times the bound below


@pytest.fixture
async def guarded(make_app: AppFactory) -> AsyncIterator[tuple[Application, str]]:
    """The library's server (overrides off) with a bound of 10 packets per socket, and a ping
    timeout of 2 s (a polling client's pending GET then ends within 3 s at shutdown)."""
    application = await make_app(library_overrides=False, socket_queue_max=10)
    assert application.seam.realtime.guard is not None
    eio = application.seam.realtime.server.eio
    eio.ping_interval, eio.ping_timeout = 1, 2
    options = connection_options(application.seam.settings)
    async with served_here(application.asgi, **options) as url:
        yield application, url


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_client_that_reads_keeps_its_socket_and_every_event(
    guarded: tuple[Application, str], transport: str
) -> None:
    _application, url = guarded
    changed: list[Any] = []
    tab = Tab()
    tab.client.on("data:changed", lambda payload, *_id: changed.append(payload))
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        await tab.open(url, token, transport)
        try:
            for number in range(EVENTS):
                body = {"nameItem": f"item {number}"}
                response = await http.post(f"{API}/sidebar", headers=bearer(token), json=body)
                assert response.status_code == 201
            for _ in range(200):
                if len(changed) == EVENTS:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(3)  # idle past the ping timeout: polling, it stays
            assert tab.client.connected and not tab.closed.is_set()
        finally:
            await tab.close()
    assert len(changed) == EVENTS
    assert [event["operation"] for event in changed] == ["sidebar:create"] * EVENTS
