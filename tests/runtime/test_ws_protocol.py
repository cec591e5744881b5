"""ws_protocol trims what uvicorn's websocket protocol keeps per open connection: these tests fail
when uvicorn changes under it (version, the methods it overrides or relies on), and check on a
real server that an open socket holds none of the trimmed state and still talks both ways."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import AsyncIterator
from importlib.metadata import version
from typing import Any

import aiohttp
import httpx
import orjson
import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from seam_api.app import Application
from seam_api.cli import connection_options
from seam_api.runtime import ws_protocol
from seam_api.runtime.lean_queue import LeanQueue
from seam_api.runtime.ws_protocol import LeanWebSocketProtocol, websocket_protocol
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, login
from tests.server_process import served_here

# sha256 of the uvicorn code ws_protocol overrides or relies on, at the tested version: the
# queue and the response are used only as the overrides assume, start_keepalive runs once
# right after the handshake response is written.
LEANED_ON = {
    "__init__": "631dcd744eab875ffd404bbda22f9dd0db25b90e2585748710bce88357dce74b",
    "handle_connect": "fc648c2161ff8e135e839d563d00499e26c6a00083466ce95aa27428d37af30a",
    "start_keepalive": "6d83bdbc3db82b86e4e1d11a16cd605bc564b8ed1976a2c5c37be8fb981e1bf3",
    "send": "d4919ed760ce9f7be8574989b91ed67448f210ff9cc114f38d286487ec1ddfc8",
    "receive": "1dc0e715390021a105cfe6abb35a730af9c5be3d71043329a39bbc1c5afe66bc",
}


def test_the_installed_uvicorn_is_the_tested_one() -> None:
    assert version("uvicorn") in ws_protocol.TESTED_UVICORN
    assert websocket_protocol() is LeanWebSocketProtocol


@pytest.mark.parametrize("name", sorted(LEANED_ON))
def test_what_it_leans_on_is_unchanged(name: str) -> None:
    # A change here means: read the new code, check the overrides still hold, update the digest.
    source = inspect.getsource(getattr(WebSocketsSansIOProtocol, name))
    assert hashlib.sha256(source.encode()).hexdigest() == LEANED_ON[name]


def test_another_uvicorn_gets_its_own_protocol_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ws_protocol, "version", lambda name: "0.99.0")
    assert websocket_protocol() is WebSocketsSansIOProtocol
    assert "uvicorn 0.99.0 is not one ws_protocol was checked against" in caplog.text


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
