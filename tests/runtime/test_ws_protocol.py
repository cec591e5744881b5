"""ws_protocol trims what uvicorn's websocket protocol keeps per open connection: these tests check
on a real server that an open socket holds none of the trimmed state and still talks both ways
(tests/runtime/test_gate.py fails when the uvicorn code it leans on changes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import orjson
import pytest

from seam_api.app import Application
from seam_api.cli import connection_options
from seam_api.runtime.lean_queue import LeanQueue
from seam_api.runtime.ws_protocol import LeanWebSocketProtocol
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, login
from tests.server_process import served_here


@pytest.fixture
async def served(make_app: AppFactory) -> AsyncIterator[tuple[Application, str]]:
    application = await make_app()
    async with served_here(
        application.asgi, **connection_options(application.seam.settings)
    ) as url:
        yield application, url


async def _connected(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    """A raw websocket through Engine.IO's open and Socket.IO's CONNECT (sent and answered:
    the receive path works)."""
    async with httpx.AsyncClient(base_url=url) as http:
        token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await session.ws_connect(ws_url, headers={"X-Sent-By": "test"})
    assert (await ws.receive_str(timeout=5)).startswith("0")
    await ws.send_str("40" + orjson.dumps({"token": token}).decode())
    while not (message := await ws.receive_str(timeout=5)).startswith("40"):
        assert not message.startswith("44"), message
    return ws


def _connection(application: Application) -> Any:
    (socket,) = application.seam.realtime.server.eio.sockets.values()
    return socket._seam_websocket().asgi_send.__self__


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_open_socket_keeps_no_handshake_and_a_lean_queue(
    served: tuple[Application, str],
) -> None:
    application, url = served
    async with aiohttp.ClientSession() as session:
        ws = await _connected(session, url)
        connection = _connection(application)
        assert type(connection) is LeanWebSocketProtocol
        assert isinstance(connection.queue, LeanQueue)
        (socket,) = application.seam.realtime.server.eio.sockets.values()
        assert isinstance(socket.queue, LeanQueue)  # engine.io's too (runtime/sio_server.py)
        assert connection.response is None
        assert len(connection.request.headers) == 0
        # The scope the application was given still has the headers.
        assert (b"x-sent-by", b"test") in connection.scope["headers"]
        # And the server still sends: an event to every socket arrives.
        await application.seam.realtime.server.emit("probe", {"n": 1})
        while not (message := await ws.receive_str(timeout=5)).startswith("42"):
            pass
        assert orjson.loads(message[2:]) == ["probe", {"n": 1}]
        await ws.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_client_that_closes_is_seen_closed(served: tuple[Application, str]) -> None:
    application, url = served
    eio = application.seam.realtime.server.eio
    async with aiohttp.ClientSession() as session:
        ws = await _connected(session, url)
        await ws.close()
    for _ in range(200):  # the disconnect goes through the lean receive queue
        if not eio.sockets:
            break
        await asyncio.sleep(0.01)
    assert eio.sockets == {}
