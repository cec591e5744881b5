"""Socket.IO hygiene (security review, items 6-8): who may be named as the initiator, a
revocation racing a handshake, sessions that never CONNECT, bad packets, and the per-account
socket cap. An in-process uvicorn serves the app, so a test can reach into it mid-handshake."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import httpx
import pytest
import socketio
from prometheus_client import REGISTRY

from seam_api.app import Application
from seam_api.cli import connection_options
from seam_api.security.sessions import Caller
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AppFactory,
    Server,
    bearer,
    login,
)
from tests.helpers import API, PASSWORD, register
from tests.security import Tab
from tests.server_process import served_here

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])  # what these test is not SQL
# The bounds of contract 5.5 hold on both servers: the override's (runtime/sio_server.py), and
# the library's own with realtime/guard.py in front, which runs when the override is off.
BOTH_SERVERS = pytest.mark.parametrize(
    "library_overrides", [True, False], ids=["override", "library"]
)

Live = Callable[..., Awaitable[tuple[Application, str]]]


@pytest.fixture
async def live(make_app: AppFactory) -> AsyncIterator[Live]:
    """Start apps on real sockets in this process; each answers (app, base URL)."""
    async with AsyncExitStack() as servers:

        async def start(**overrides: Any) -> tuple[Application, str]:
            application = await make_app(**overrides)
            if "library_overrides" in overrides:  # the server asked for is the one running
                guarded = application.seam.realtime.guard is not None
                assert guarded is not overrides["library_overrides"]
            options = connection_options(application.seam.settings)
            served = served_here(application.asgi, **options)
            return application, await servers.enter_async_context(served)

        yield start


async def _sign_in(url: str) -> tuple[httpx.AsyncClient, str]:
    """An HTTP client (the caller closes it) and the admin's token."""
    http = httpx.AsyncClient(base_url=url, timeout=30)
    return http, await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)


async def _member(http: httpx.AsyncClient, admin_token: str) -> tuple[str, int]:
    """A new member's token and id."""
    user = await register(http, bearer(admin_token))
    return await login(http, user["email"], PASSWORD), int(user["idUser"])


async def test_the_initiator_is_named_only_when_it_is_the_callers_connected_socket(
    server: Server,
) -> None:
    url = server.url
    http, admin_token = await _sign_in(url)
    member_token, _ = await _member(http, admin_token)
    seen: list[dict[str, Any]] = []
    admin_tab, member_tab = Tab(), Tab()

    def on_changed(event: dict[str, Any], _event_id: str | None = None) -> None:
        seen.append(event)

    member_tab.client.on("data:changed", on_changed)
    try:
        await admin_tab.open(url, admin_token, "websocket")
        await member_tab.open(url, member_token, "websocket")
        admin_sid = admin_tab.client.get_sid()
        for header in (member_tab.client.get_sid(), "<b>any text</b>", admin_sid):
            headers = {**bearer(admin_token), "X-Socket-ID": str(header)}
            response = await http.post(f"{API}/sidebar", headers=headers, json={"nameItem": "x"})
            assert response.status_code == 201
        for _ in range(100):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await admin_tab.close()
        await member_tab.close()
        await http.aclose()
    assert [e["initiatorSocketId"] for e in seen] == [None, None, admin_sid]
    assert admin_sid is not None


@ON_SQLITE
async def test_a_revocation_during_the_handshake_reaches_the_socket(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    application, url = await live()
    http, admin_token = await _sign_in(url)
    member_token, member_id = await _member(http, admin_token)
    sessions = application.seam.realtime.sessions
    original = sessions.authenticate
    paused, release = asyncio.Event(), asyncio.Event()

    async def slow_first_check(token: str) -> Caller | None:
        caller = await original(token)
        if token == member_token and not paused.is_set():
            paused.set()
            await release.wait()  # the account is disabled meanwhile
        return caller

    monkeypatch.setattr(sessions, "authenticate", slow_first_check)
    tab = Tab()
    handshake = asyncio.create_task(tab.open(url, member_token, "websocket"))
    try:
        await asyncio.wait_for(paused.wait(), 10)
        disabled = await http.put(
            f"{API}/users/{member_id}/state", headers=bearer(admin_token), json={"isActive": 0}
        )
        assert disabled.status_code == 200
        release.set()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await handshake
    finally:
        release.set()
        await tab.close()
        await http.aclose()
    assert not tab.client.connected


async def _raw_socket(url: str) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(
        url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    )
    opened = await ws.receive_str()
    assert opened.startswith("0{")
    return session, ws


async def _closed_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> bool:
    """Read until the server closes the connection, answering pings; False if it stays."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        try:
            message = await asyncio.wait_for(ws.receive(), deadline - loop.time())
        except TimeoutError:
            return False
        if message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        ):
            return True
        if message.type == aiohttp.WSMsgType.TEXT and message.data == "1":
            return True  # Engine.IO's close packet
        if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
            await ws.send_str("3")
    return False


@ON_SQLITE
@BOTH_SERVERS
async def test_a_session_that_never_connects_is_closed_after_the_deadline(
    live: Live, library_overrides: bool
) -> None:
    application, url = await live(library_overrides=library_overrides)
    application.seam.realtime.server.connect_timeout = 0.5
    session, ws = await _raw_socket(url)
    try:
        assert await _closed_within(ws, 10)
    finally:
        await ws.close()
        await session.close()


@ON_SQLITE
@BOTH_SERVERS
async def test_a_session_that_connects_in_time_stays(live: Live, library_overrides: bool) -> None:
    application, url = await live(library_overrides=library_overrides)
    application.seam.realtime.server.connect_timeout = 0.5
    http, token = await _sign_in(url)
    await http.aclose()
    session, ws = await _raw_socket(url)
    try:
        await ws.send_str("40" + json.dumps({"token": token}))
        assert not await _closed_within(ws, 1.5)
    finally:
        await ws.close()
        await session.close()


@ON_SQLITE
@BOTH_SERVERS
async def test_a_malformed_packet_closes_its_connection_with_one_line_and_no_traceback(
    live: Live, caplog: pytest.LogCaptureFixture, library_overrides: bool
) -> None:
    _app, url = await live(library_overrides=library_overrides)
    caplog.set_level(logging.INFO)
    for garbage in ('4{"not a packet', "49nonsense", '42["x"'):
        session, ws = await _raw_socket(url)
        try:
            await ws.send_str(garbage)
            assert await _closed_within(ws, 10), garbage
        finally:
            await ws.close()
            await session.close()
    malformed = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(malformed) == 3
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"


@ON_SQLITE
@BOTH_SERVERS
async def test_a_malformed_packet_on_polling_is_answered_and_its_session_closed(
    live: Live, library_overrides: bool
) -> None:
    # Closing used to wait for the session's queue to drain, which needs a GET that a client
    # posting garbage never sends: the POST hung, holding its task, for good.
    application, url = await live(library_overrides=library_overrides)
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        sid = json.loads(opened.text[1:])["sid"]
        query = {"EIO": "4", "transport": "polling", "sid": sid}
        posted = await http.post("/socket.io/", params=query, content="42[")
        assert posted.status_code == 200
        later = await http.get("/socket.io/", params=query)
        assert later.status_code == 400  # the session is gone
    assert sid not in application.seam.realtime.server.eio.sockets


async def _polling_session(http: httpx.AsyncClient, token: str) -> dict[str, str]:
    """Open a polling session and CONNECT it; answers its query parameters."""
    opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    query = {"EIO": "4", "transport": "polling", "sid": json.loads(opened.text[1:])["sid"]}
    await http.post("/socket.io/", params=query, content="40" + json.dumps({"token": token}))
    for _ in range(3):  # data:synced may come in a GET of its own, before the CONNECT reply
        if "40{" in (await http.get("/socket.io/", params=query)).text:
            return query
    raise AssertionError("no CONNECT reply")


def _closed_slow(reason: str) -> float:
    return REGISTRY.get_sample_value("seam_sockets_closed_slow_total", {"reason": reason}) or 0


@ON_SQLITE
@BOTH_SERVERS
async def test_a_client_that_stops_reading_loses_progress_first_then_its_socket(
    live: Live, library_overrides: bool
) -> None:
    application, url = await live(socket_queue_max=10, library_overrides=library_overrides)
    eio = application.seam.realtime.server.eio
    dropped_before = REGISTRY.get_sample_value("seam_progress_dropped_total") or 0
    closed_before = _closed_slow("queue_full")
    http, token = await _sign_in(url)
    waiting: list[int] = []
    try:
        sid = (await _polling_session(http, token))["sid"]
        for number in range(20):  # each: progress to this socket, and a data:changed
            response = await http.post(
                f"{API}/sidebar", headers=bearer(token), json={"nameItem": f"item {number}"}
            )
            assert response.status_code == 201
            await application.seam.realtime.drain()
            if sid not in eio.sockets:
                break
            waiting.append(eio.sockets[sid].queue.qsize())
    finally:
        await http.aclose()
    assert sid not in eio.sockets, "closed rather than holding more"
    assert max(waiting) <= 10
    assert (REGISTRY.get_sample_value("seam_progress_dropped_total") or 0) > dropped_before
    assert _closed_slow("queue_full") == closed_before + 1


@ON_SQLITE
@BOTH_SERVERS
async def test_a_polling_client_that_stops_polling_is_closed_despite_its_pongs(
    live: Live, library_overrides: bool
) -> None:
    application, url = await live(library_overrides=library_overrides)
    eio = application.seam.realtime.server.eio
    eio.ping_timeout = 0.5  # before any session, so the sweeper starts with it
    closed_before = _closed_slow("no_poll")
    http, token = await _sign_in(url)
    try:
        query = await _polling_session(http, token)
        answers = []
        for _ in range(50):  # unsolicited PONGs, and no GET
            answers.append((await http.post("/socket.io/", params=query, content="3")).status_code)
            if answers[-1] == 400:
                break
            await asyncio.sleep(0.1)
    finally:
        await http.aclose()
    assert answers[-1] == 400, "the session is gone"
    assert query["sid"] not in eio.sockets
    assert _closed_slow("no_poll") == closed_before + 1


@ON_SQLITE
async def test_sockets_per_account_are_capped(live: Live) -> None:
    _app, url = await live(max_sockets_per_user=2)
    http, token = await _sign_in(url)
    await http.aclose()
    tabs = [Tab() for _ in range(3)]
    try:
        for tab in tabs[:2]:
            await tab.open(url, token, "websocket")
        refused: list[Any] = []
        tabs[2].client.on("connect_error", refused.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await tabs[2].open(url, token, "websocket")
    finally:
        for tab in tabs:
            await tab.close()
    assert refused and "Too many open connections" in str(refused[0])
