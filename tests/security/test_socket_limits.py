"""Bad input over Socket.IO: a message over SEAM_MAX_SOCKET_MESSAGE_BYTES closes that socket (and
only that socket); events the server does not define are ignored and the connection stays.
A real `seam-api serve` with a small limit, real clients on both transports.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import httpx
import pytest
import socketio

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, bearer, login, start_server
from tests.security import Tab

API = "/api/v1"
PASSWORD = "socket-password-1"
LIMIT = 4096
DEADLINE = 5.0  # seconds a close or an event may take before the test fails
TRANSPORTS = ["websocket", "polling"]


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("socket-limits"), {"SEAM_MAX_SOCKET_MESSAGE_BYTES": str(LIMIT)}
    )
    yield running
    running.stop()


@dataclass
class Wire:
    """The server, an HTTP client for it, and a member of its own for each test."""

    url: str
    http: httpx.AsyncClient
    admin: dict[str, str]
    token: str = ""
    user_id: int = 0


@pytest.fixture(scope="module")
async def server_http(limited_server: Server) -> AsyncIterator[Wire]:
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        yield Wire(limited_server.url, http, admin)


@pytest.fixture
async def wire(server_http: Wire) -> Wire:
    """The server, with a fresh member whose sockets the test opens."""
    http = server_http.http
    email = f"socket-{uuid.uuid4().hex[:12]}@example.com"
    body = {"full_name": "Socket Tester", "email": email, "password": PASSWORD}
    answer = await http.post(f"{API}/auth/register", headers=server_http.admin, json=body)
    assert answer.status_code == 201, answer.text
    token = await login(http, email, PASSWORD)
    return Wire(server_http.url, http, server_http.admin, token, answer.json()["data"]["idUser"])


@pytest.fixture
async def tabs(wire: Wire) -> AsyncIterator[list[Tab]]:
    """The tabs a test opens; at the end their member is disabled, which closes them."""
    opened: list[Tab] = []
    yield opened
    state = f"{API}/users/{wire.user_id}/state"
    await wire.http.put(state, headers=wire.admin, json={"isActive": 0})
    for tab in opened:
        await asyncio.wait_for(tab.closed.wait(), DEADLINE)
        await tab.close()


async def open_tab(tabs: list[Tab], wire: Wire, transport: str) -> Tab:
    tab = await Tab().open(wire.url, wire.token, transport)
    tabs.append(tab)
    return tab


async def still_open(tab: Tab, wire: Wire) -> bool:
    """The tab is connected and an HTTP request naming it gets its events on it."""
    tab.finished.clear()
    headers = {**bearer(wire.token), "X-Socket-ID": str(tab.client.get_sid())}
    answer = await wire.http.get(f"{API}/roles", headers=headers)
    assert answer.status_code == 200, answer.text
    await asyncio.wait_for(tab.finished.wait(), DEADLINE)
    return tab.client.connected and not tab.closed.is_set()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_message_over_the_limit_closes_the_socket(
    wire: Wire, tabs: list[Tab], transport: str
) -> None:
    tab = await open_tab(tabs, wire, transport)

    await tab.client.emit("message", {"padding": "x" * (2 * LIMIT)})

    await asyncio.wait_for(tab.closed.wait(), DEADLINE)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_message_under_the_limit_leaves_the_socket_open(
    wire: Wire, tabs: list[Tab], transport: str
) -> None:
    """The control: the close above is about size."""
    tab = await open_tab(tabs, wire, transport)

    await tab.client.emit("message", {"padding": "x" * (LIMIT // 2)})

    assert await still_open(tab, wire)


async def test_an_oversized_message_closes_only_its_own_socket(wire: Wire, tabs: list[Tab]) -> None:
    bystander = await open_tab(tabs, wire, "websocket")
    offender = await open_tab(tabs, wire, "websocket")

    await offender.client.emit("message", {"padding": "x" * (2 * LIMIT)})
    await asyncio.wait_for(offender.closed.wait(), DEADLINE)

    assert await still_open(bystander, wire)
    assert await still_open(await open_tab(tabs, wire, "websocket"), wire)


async def test_a_handshake_with_an_oversized_token_is_refused(wire: Wire) -> None:
    async with aiohttp.ClientSession() as session:
        client = socketio.AsyncClient(reconnection=False, http_session=session)

        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                wire.url, auth={"token": "x" * (2 * LIMIT)}, transports=["websocket"]
            )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unknown_client_events_are_ignored_and_the_connection_stays(
    wire: Wire, tabs: list[Tab], transport: str
) -> None:
    tab = await open_tab(tabs, wire, transport)

    for event, data in [
        ("no-such-event", {"anything": [1, 2, 3]}),
        ("operation:progress", {"operation": "user:edit", "status": "success"}),
        ("data:changed", {"operation": "user:delete", "data": {"idUser": 1}}),
        ("a" * 1000, "x"),
    ]:
        await tab.client.emit(event, data)

    assert await still_open(tab, wire)


@pytest.mark.skip(
    reason="python-socketio's client raises TypeError emitting reserved names; needs a raw "
    "Socket.IO frame to exercise the server guard in Realtime._on_connect/_on_disconnect",
)
async def test_client_events_named_connect_or_disconnect_do_not_escape_revocation(
    wire: Wire,
) -> None:
    tab = await Tab().open(wire.url, wire.token, "websocket")
    try:
        await tab.client.emit("disconnect")
        await tab.client.emit("connect", {"HTTP_ACCEPT_LANGUAGE": "es"}, {"token": wire.token})
        assert await still_open(tab, wire)
        state = f"{API}/users/{wire.user_id}/state"
        await wire.http.put(state, headers=wire.admin, json={"isActive": 0})

        await asyncio.wait_for(tab.closed.wait(), 1.0)
    finally:
        await tab.close()
