"""engineio_writer replaces one python-engineio method: these tests fail when the library
changes under it (version, the replaced method, the writer that calls it) and check that the
replacement returns what the library's own `poll` returns for the same queue."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import sys
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

import pytest
from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket

from seam_api.core import engineio_writer

# sha256 of the library's source of what the replacement stands in for, at the tested version.
LIBRARY_POLL = "826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954"


def _digest(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def test_the_installed_engineio_is_a_tested_version() -> None:
    assert version("python-engineio") in engineio_writer.TESTED_VERSIONS


def test_the_library_poll_is_the_one_the_replacement_was_written_from() -> None:
    # A change here means: read the new AsyncSocket.poll, carry it over, update the digest.
    assert _digest(engineio_writer.library_poll) == LIBRARY_POLL


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
