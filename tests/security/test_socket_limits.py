"""Bad input over Socket.IO: a message over SEAM_MAX_SOCKET_MESSAGE_BYTES closes that socket (and
only that socket); events the server does not define are ignored and the connection stays;
events named `connect` or `disconnect` (sent as raw frames) do not escape revocation.
A real `seam-api serve` with a small limit, real clients on both transports.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

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
    email: str = ""


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
    user_id = answer.json()["data"]["idUser"]
    return Wire(server_http.url, http, server_http.admin, token, user_id, email)


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


class RawSocket:
    """A Socket.IO client spoken by hand on a bare websocket: Engine.IO v4 open `0{...}`,
    connect `40{auth}` answered by `40{"sid": ...}`, pings `2` answered with `3`, events
    `42[name, ...args]`, acks `43<id>[...]`. python-socketio's client refuses to emit the
    reserved names `connect` and `disconnect`; this one sends whatever frame a hostile client
    could."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._acks: dict[int, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, url: str, token: str) -> RawSocket:
        endpoint = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        socket = cls(await session.ws_connect(endpoint, autoping=False))
        assert (await socket.ws.receive_str(timeout=DEADLINE)).startswith("0")
        await socket._send("40", {"token": token})
        # Pings are answered; the catch-up events sent before the CONNECT reply are skipped.
        while (frame := await socket.ws.receive_str(timeout=DEADLINE)) == "2" or frame.startswith(
            "42"
        ):
            if frame == "2":
                await socket.ws.send_str("3")
        assert frame.startswith("40") and "sid" in json.loads(frame[2:]), frame
        socket._reader = asyncio.create_task(socket._read())
        return socket

    async def _send(self, kind: str, payload: Any) -> None:
        await self.ws.send_str(kind + json.dumps(payload))

    async def emit(self, event: str, *args: Any) -> None:
        """Emit with an ack id and wait for the ack, sent once the server's handler returned
        (the server runs handlers as background tasks, so a later step could overtake it)."""
        ack_id = len(self._acks) + 1
        acked = self._acks[ack_id] = asyncio.Event()
        await self._send(f"42{ack_id}", [event, *args])
        await asyncio.wait_for(acked.wait(), DEADLINE)

    async def receive(self, name: str, **expected: Any) -> None:
        """Wait for an event `name` whose payload's `data` has the `expected` fields; other
        events (other tests' mutations) are skipped."""
        while True:
            event, *args = await asyncio.wait_for(self.events.get(), DEADLINE)
            data = args[0].get("data") if event == name and args else None
            if isinstance(data, dict) and expected.items() <= data.items():
                return

    async def _read(self) -> None:
        """Queue events and answer pings until the server disconnects the socket: its `41`
        (it leaves the websocket for the client to close, as Socket.IO clients do) or the
        end of the websocket."""
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT or message.data == "41":
                break
            if message.data == "2":
                await self.ws.send_str("3")
            elif message.data.startswith("42"):
                self.events.put_nowait(json.loads(message.data[2:]))
            elif message.data.startswith("43"):
                self._acks[int(message.data[2:].partition("[")[0])].set()
        self.closed.set()

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader


async def test_client_events_named_connect_or_disconnect_do_not_escape_revocation(
    wire: Wire,
) -> None:
    """A `disconnect` event must not unregister a live socket: one the revocation cannot find
    would outlive its disabled user. `connect` goes first, as a handled `connect` after it would
    register the socket again and hide the escape."""
    async with aiohttp.ClientSession() as session:
        socket = await RawSocket.open(session, wire.url, wire.token)
        try:
            await socket.emit("connect", {"HTTP_ACCEPT_LANGUAGE": "es"}, {"token": wire.token})
            await socket.emit("disconnect")

            role = {"roleName": f"raw-{uuid.uuid4().hex[:12]}"}
            answer = await wire.http.post(f"{API}/roles", headers=wire.admin, json=role)
            assert answer.status_code == 201, answer.text
            await socket.receive("data:changed", roleName=role["roleName"])
            assert not socket.closed.is_set()

            state = f"{API}/users/{wire.user_id}/state"
            answer = await wire.http.put(state, headers=wire.admin, json={"isActive": 0})
            assert answer.status_code == 200, answer.text
            await asyncio.wait_for(socket.closed.wait(), 1.0)
        finally:
            await socket.close()


async def test_a_client_event_named_connect_does_not_rebind_the_socket_to_another_token(
    wire: Wire,
) -> None:
    """Logging out the token a socket connected with closes it, whatever token a later
    `connect` event names."""
    other_token = await login(wire.http, wire.email, PASSWORD)
    async with aiohttp.ClientSession() as session:
        socket = await RawSocket.open(session, wire.url, wire.token)
        try:
            await socket.emit("connect", {}, {"token": other_token})

            answer = await wire.http.post(f"{API}/auth/logout", headers=bearer(wire.token))
            assert answer.status_code == 200, answer.text
            await asyncio.wait_for(socket.closed.wait(), 1.0)
        finally:
            await socket.close()
