"""engineio_writer replaces one python-engineio method and writes broadcasts straight to idle
connections: these tests fail when the libraries change under it (versions, the replaced method,
the writer that calls it, the code direct writes lean on), check that the replacement returns
what the library's own `poll` returns for the same queue, and that a direct write happens only
when nothing can be ahead of it, on a real uvicorn server and socket.io clients."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import socketio
from engineio import exceptions, packet
from engineio.async_drivers import asgi as engineio_asgi
from engineio.async_socket import AsyncSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from seam_api.app import Application
from seam_api.cli import connection_options
from seam_api.runtime import engineio_writer
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, login
from tests.server_process import served_here


def test_the_writer_still_waits_on_poll_and_the_queue_is_an_asyncio_queue() -> None:
    handler = inspect.getsource(AsyncSocket._websocket_handler)
    assert "await self.poll()" in handler
    assert "exceptions.QueueEmpty" in handler
    from engineio.async_server import AsyncServer

    assert isinstance(AsyncServer().create_queue(), asyncio.Queue)


def _socket(*queued: Any, timeout: float = 5.0) -> Any:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in queued:
        queue.put_nowait(item)
    return SimpleNamespace(
        queue=queue, server=SimpleNamespace(ping_interval=timeout / 2, ping_timeout=timeout / 2)
    )


def _packets(count: int) -> list[packet.Packet]:
    return [packet.Packet(packet.MESSAGE, data=f"event {n}") for n in range(count)]


async def _both(*queued: Any) -> tuple[Any, Any, list[Any], list[Any]]:
    """Each poll on its own queue holding `queued`: (library's, ours, leftovers of each)."""
    theirs, ours = _socket(*queued), _socket(*queued)
    got_theirs = await engineio_writer.library_poll(theirs)
    got_ours = await engineio_writer.poll(ours)

    def rest(socket: Any) -> list[Any]:
        return [socket.queue.get_nowait() for _ in range(socket.queue.qsize())]

    return got_theirs, got_ours, rest(theirs), rest(ours)


@pytest.mark.parametrize(
    "queued",
    [
        _packets(1),
        _packets(3),
        [None],
        [*_packets(2), None],
        [*_packets(2), None, *_packets(1)],
    ],
    ids=["one", "several", "close", "packets-then-close", "close-in-the-middle"],
)
async def test_the_replacement_returns_what_the_library_returns(queued: list[Any]) -> None:
    theirs, ours, left_theirs, left_ours = await _both(*queued)
    assert ours == theirs
    assert left_ours == left_theirs


async def test_a_packet_that_arrives_while_waiting_is_returned() -> None:
    socket = _socket()
    waiting = asyncio.ensure_future(engineio_writer.poll(socket))
    await asyncio.sleep(0)
    assert not waiting.done()
    sent = _packets(1)
    socket.queue.put_nowait(sent[0])
    assert await waiting == sent


async def test_an_empty_queue_past_the_ping_timeout_is_queue_empty_as_in_the_library() -> None:
    with pytest.raises(exceptions.QueueEmpty):
        await engineio_writer.library_poll(_socket(timeout=0.02))
    with pytest.raises(exceptions.QueueEmpty):
        await engineio_writer.poll(_socket(timeout=0.02))


async def test_a_cancelled_wait_is_queue_empty_as_in_the_library() -> None:
    for poll in (engineio_writer.library_poll, engineio_writer.poll):
        waiting = asyncio.ensure_future(poll(_socket()))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(exceptions.QueueEmpty):
            await waiting


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="install() is a no-op from 3.12")
def test_install_puts_the_replacement_in_place() -> None:
    try:
        assert engineio_writer.install() is True
        assert AsyncSocket.poll is engineio_writer.poll
        assert engineio_writer.install() is True
    finally:
        AsyncSocket.poll = engineio_writer.library_poll  # type: ignore[method-assign]
        engineio_writer._installed = False


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the library's poll is safe from 3.12")
def test_direct_writes_are_refused_on_3_11_without_the_replacement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engineio_writer, "_installed", False)
    server = SimpleNamespace(_async={"websocket": engineio_asgi.WebSocket})
    assert engineio_writer.enable_direct_writes(server) is False
    assert server._async["websocket"] is engineio_asgi.WebSocket


# -- direct writes, on a real server ---------------------------------------------------------


@dataclass
class Live:
    """An app served by uvicorn as `seam-api serve` serves it, with socket.io clients."""

    application: Application
    tabs: list[socketio.AsyncClient]
    received: list[list[tuple[str, Any]]]
    # (engine.io sid, written directly?) for every write_now call
    attempts: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def eio(self) -> Any:
        return self.application.seam.realtime.server.eio

    def socket_of(self, tab: socketio.AsyncClient) -> AsyncSocket:
        server = self.application.seam.realtime.server
        eio_sid = server.manager.eio_sid_from_sid(tab.get_sid("/"), "/")
        socket: AsyncSocket = self.eio.sockets[eio_sid]
        return socket

    async def until_received(self, count: int) -> None:
        for _ in range(500):
            if all(len(events) >= count for events in self.received):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"not every tab received {count} events: {self.received}")

    async def probes_of(self, tab: int, count: int) -> list[Any]:
        """The probes and markers tab number `tab` received, once it has `count` (or 1 s on)."""
        for _ in range(100):
            if len(_probes(self.received[tab])) >= count:
                break
            await asyncio.sleep(0.01)
        return _probes(self.received[tab])


ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
async def live(make_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Live]:
    application = await make_app(max_sockets_per_user=10)
    options = connection_options(application.seam.settings)  # as `seam-api serve` serves it
    async with served_here(application.asgi, **options) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        state = Live(application, [], [])
        written = engineio_writer.write_now

        def counted(socket: Any, frame: bytes) -> bool:
            done = written(socket, frame)
            state.attempts.append((socket.sid, done))
            return done

        monkeypatch.setattr(engineio_writer, "write_now", counted)
        for _ in range(3):
            tab = socketio.AsyncClient()
            events: list[tuple[str, Any]] = []
            tab.on("*", lambda event, data, events=events: events.append((event, data)))
            await tab.connect(url, auth={"token": token}, transports=["websocket"])
            state.tabs.append(tab)
            state.received.append(events)
        await asyncio.sleep(0.2)  # each tab's replay and room join
        try:
            yield state
        finally:
            for tab in state.tabs:
                await tab.disconnect()


def _probes(received: list[tuple[str, Any]]) -> list[Any]:
    return [data for event, data in received if event in ("probe", "marker")]


@ON_SQLITE
async def test_a_broadcast_to_idle_sockets_is_written_straight_to_each(live: Live) -> None:
    live.attempts.clear()
    await live.application.seam.realtime.server.emit("probe", {"n": 1})
    await live.until_received(1)
    assert [_probes(events) for events in live.received] == [[{"n": 1}]] * 3
    assert sorted(done for _, done in live.attempts) == [True, True, True]


@ON_SQLITE
async def test_a_socket_with_a_packet_queued_gets_the_broadcast_after_it(live: Live) -> None:
    busy = live.socket_of(live.tabs[0])
    live.attempts.clear()
    # A packet waiting in the queue, then a broadcast in the same turn of the loop.
    await live.eio.send_packet(busy.sid, packet.Packet(packet.MESSAGE, '2["marker",0]'))
    await live.application.seam.realtime.server.emit("probe", 1)
    assert await live.probes_of(0, 2) == [0, 1]  # in the order they were sent
    assert dict(live.attempts) == {
        busy.sid: False,
        live.socket_of(live.tabs[1]).sid: True,
        live.socket_of(live.tabs[2]).sid: True,
    }


@ON_SQLITE
async def test_a_packet_the_writer_has_just_taken_is_not_overtaken(live: Live) -> None:
    """On Python 3.11 the library's `poll` takes a packet in a task of its own and hands it to
    the writer a turn later: the queue is empty meanwhile, and a direct write would overtake
    it. The replacement `poll` takes and writes in one step (install() is what makes "queue
    empty" mean "nothing ahead")."""
    busy = live.socket_of(live.tabs[0])
    await live.eio.send_packet(busy.sid, packet.Packet(packet.MESSAGE, '2["marker",0]'))
    await asyncio.sleep(0)  # one turn of the loop: the writer's wait takes the packet
    await live.application.seam.realtime.server.emit("probe", 1)
    assert await live.probes_of(0, 2) == [0, 1]


@ON_SQLITE
async def test_a_paused_connection_is_left_to_its_writer(live: Live) -> None:
    paused = live.socket_of(live.tabs[1])
    connection = paused._seam_websocket().asgi_send.__self__
    assert isinstance(connection, WebSocketsSansIOProtocol)
    connection.pause_writing()
    live.attempts.clear()
    await live.application.seam.realtime.server.emit("probe", 2)
    assert dict(live.attempts)[paused.sid] is False
    await asyncio.sleep(0.1)
    assert _probes(live.received[1]) == []  # held by the writer while paused
    connection.resume_writing()
    await live.until_received(1)
    assert [_probes(events) for events in live.received] == [[2]] * 3


@ON_SQLITE
async def test_a_closed_socket_is_not_written_to(live: Live) -> None:
    closing = live.socket_of(live.tabs[2])
    closing.closed = True
    try:
        assert engineio_writer.write_now(closing, engineio_writer.text_frame('42["x"]')) is False
    finally:
        closing.closed = False


@ON_SQLITE
async def test_an_open_websocket_no_longer_holds_its_handshake_body_reader(live: Live) -> None:
    server = live.application.seam.realtime.server
    environ = server.environ[live.socket_of(live.tabs[0]).sid]
    assert "wsgi.input" not in environ
    assert environ["HTTP_HOST"].startswith("127.0.0.1:")  # the rest is left as it was


def test_the_frame_is_the_websocket_librarys_unmasked_text_frame() -> None:
    assert engineio_writer.text_frame('42["x"]') == b'\x81\x0742["x"]'
    long = "4" * 300
    assert engineio_writer.text_frame(long) == b"\x81\x7e\x01\x2c" + long.encode()
