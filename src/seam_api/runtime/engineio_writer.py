"""python-engineio's per-socket writer, made cheaper in two ways python-engineio has no hook for.

**A cheaper wait (Python 3.11).** Every websocket has a writer task that loops on
`AsyncSocket.poll()`, which waits for the next packet with `asyncio.wait_for(queue.get(),
ping_interval + ping_timeout)`. On Python 3.11 `wait_for` wraps the `get()` in a new task and
arms a timer for every packet, so one `data:changed` to 1,000 sockets makes 1,000 extra tasks.
This `poll` takes a packet that is already queued without waiting, and otherwise waits under
`asyncio.timeout` (no extra task); its behaviour is otherwise the library's: the same timeout,
the same `QueueEmpty` on timeout or cancellation, the same `None` sentinel handling. Direct
writes (below) depend on it on 3.11: the library's `poll` takes a packet in the extra task and
hands it to the writer a loop turn later, so the queue is empty while a packet is still on its
way, and a direct write in that turn would overtake it. On Python 3.12+ `wait_for` is built on
`asyncio.timeout` already, so `install()` leaves the library alone there.

**Direct writes.** A broadcast to 1,000 idle sockets otherwise queues one packet per socket,
wakes 1,000 writer tasks, and frames the same text 1,000 times through ASGI messages and the
websocket library. `write_now` writes a frame made once per broadcast straight to the
connection's transport when nothing can be ahead of it: the socket is open on websocket, past
any upgrade, its queue is empty (so its writer holds nothing: it never yields between taking
packets and writing them unless the transport is paused, and then `writable` is clear) and the
connection sends uncompressed frames. Otherwise the packet takes the library's path. Reaching
the transport needs the driver's websocket object, which python-engineio keeps local to
`AsyncSocket._websocket_handler`; `enable_direct_writes` gives one server a subclass of the
driver's class that leaves it on the socket. Only uvicorn's `websockets-sansio` protocol is
written to directly: under any other, every packet takes the library's path. Measured in
bench/README.md ("Where the time goes").

**Less kept per socket.** The driver's environ for the handshake, which lives as long as the
connection, holds a request body reader whose class the driver makes anew for every request
(about 3 KiB); the same subclass drops it, since a websocket never reads a body.

Each is used only when runtime/gate.py finds the library code it leans on unchanged
(overrides `engineio_poll` and `direct_writes`); otherwise the library's own path serves every
packet. Written to be offered upstream.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from typing import Any

from engineio import exceptions
from engineio.async_drivers import asgi as engineio_asgi
from engineio.async_socket import AsyncSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

library_poll = AsyncSocket.poll  # kept for the test that compares the two
log = logging.getLogger(__name__)
_installed = False


async def poll(self: Any) -> list[Any]:
    """`AsyncSocket.poll` without a task per packet: the packets queued, waiting if none."""
    queue: asyncio.Queue[Any] = self.queue
    try:
        first = queue.get_nowait()
    except asyncio.QueueEmpty:
        try:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                first = await queue.get()
        except (TimeoutError, asyncio.CancelledError):
            raise exceptions.QueueEmpty() from None
    queue.task_done()
    if first is None:
        return []
    packets = [first]
    while True:
        try:
            pkt = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)  # the writer sees the close on its next poll
            break
        packets.append(pkt)
    return packets


def install() -> bool:
    """Put `poll` in place of `AsyncSocket.poll`; True if it did. Idempotent."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12):
        return False
    AsyncSocket.poll = poll
    _installed = True
    return True


_WEBSOCKET = "_seam_websocket"


class _KeptWebSocket(engineio_asgi.WebSocket):  # type: ignore[misc]
    """The ASGI driver's websocket, left on the engine.io socket whose handler it runs."""

    def __init__(self, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        owner = getattr(handler, "__self__", None)
        if isinstance(owner, AsyncSocket):
            # Weakly: the handler's frame keeps it alive exactly as long as the connection,
            # and a strong one would make a cycle with the socket that only the collector frees.
            setattr(owner, _WEBSOCKET, weakref.ref(self))

    async def __call__(self, environ: dict[str, Any]) -> str:
        # The request body reader the driver made for the handshake, a class of its own per
        # request (about 3 KiB with its instance): a websocket never reads a body, and the
        # environ lives as long as the connection.
        environ.pop("wsgi.input", None)
        result: str = await super().__call__(environ)
        return result


def enable_direct_writes(eio_server: Any) -> bool:
    """Let `write_now` reach this engine.io server's websockets; True if it does."""
    if sys.version_info < (3, 12) and not _installed:
        log.warning("direct writes need engineio_poll on Python 3.11: every packet is queued")
        return False
    # A copy: the driver's table is shared by every server in the process.
    eio_server._async = {**eio_server._async, "websocket": _KeptWebSocket}
    return True


def text_frame(text: str) -> bytes:
    """One unmasked websocket text frame, as a server sends it, made once for many sockets."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def write_now(socket: AsyncSocket | None, frame: bytes) -> bool:
    """Write `frame` to the socket's connection if nothing can be ahead of it (see the module's
    doc); False when the packet must take the library's path instead."""
    kept = getattr(socket, _WEBSOCKET, None)
    websocket = kept() if kept is not None else None
    if socket is None or websocket is None or socket.closed:
        return False
    if not socket.upgraded or socket.upgrading or not socket.queue.empty():
        return False
    connection = getattr(websocket.asgi_send, "__self__", None)
    if not isinstance(connection, WebSocketsSansIOProtocol):  # or core.ws_protocol's subclass
        return False
    if (
        not connection.handshake_complete
        or connection.close_sent
        or connection.disconnected
        or connection.initial_response is not None
        or not connection.writable.is_set()
        or connection.conn.state is not State.OPEN
        or connection.conn.extensions
        or connection.transport.is_closing()
    ):
        return False
    connection.transport.write(frame)
    return True
