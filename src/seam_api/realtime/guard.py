"""Slow and hostile Socket.IO clients, bounded from outside the libraries (contract 5.5).

With runtime/gate.py's `socket_server` override on, runtime/sio_server.py keeps these bounds
where packets enter a socket's queue. With it off (a library moved under it, or
SEAM_LIBRARY_OVERRIDES=off), python-socketio and python-engineio offer none of them, and this
module keeps the same bounds through what they publish (emit's `skip_sid`, the manager's
participants, engine.io's `disconnect`, its `ping_timeout`) and the ASGI channel in front of
them:

- **A bound per socket.** The delivery layer (realtime/server.py) asks `admit` before each emit.
  This counts, per Engine.IO session, the events delivery queued that the transport has not
  written yet; writes are seen on the way out: each websocket frame of an event, and each
  polling GET's answer, which drains the whole queue. Once half the bound waits,
  `operation:progress` to that socket is dropped; at the bound any other event closes the
  socket instead of waiting, and its client recovers the `data:changed` it missed from the
  event log when it reconnects. A `data:changed` is never dropped silently.
- **Polling sessions that stop polling** (no GET pending for longer than the ping timeout) are
  closed, though they answer pings with unsolicited PONGs.
- **Malformed packets** are decoded here first, with the server's own packet class: one warning
  line, the POST answered, the session closed; the library would log a traceback and keep it.
- **A CONNECT deadline**: an Engine.IO session that sends no Socket.IO CONNECT is closed.

A close never waits for the socket's queue: a websocket's connection is ended on the ASGI
channel, and a polling session is dropped from engine.io's sessions at once, so its next
request gets a 400. What cannot be counted from outside: events another instance sends to a
socket here through Redis (progress of a request served there) are written but were not
queued by this delivery, so the count can run behind the socket's real queue by that many.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import socketio
from socketio import packet

from seam_api.ops.metrics import PROGRESS_DROPPED, SOCKETS_CLOSED_SLOW

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

PATH = "/socket.io/"
QUEUE_FULL = "slow client: its queue is full"
NO_POLL = "slow client: no poll within the ping timeout"
NO_CONNECT = "no Socket.IO CONNECT in time"
# Packets a client may send, and those whose data must be a non-empty list (event name first).
_FROM_CLIENT = frozenset(
    {packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK, packet.BINARY_EVENT}
    | {packet.BINARY_ACK}
)
_EVENTS = frozenset({packet.EVENT, packet.BINARY_EVENT})
_RECORD_SEPARATOR = "\x1e"  # between the packets of a polling payload (Engine.IO 4)


class SocketGuard:
    """The bounds of contract 5.5 for the library's own server; see the module docstring."""

    def __init__(self, server: socketio.AsyncServer, *, max_queued: int) -> None:
        self.server = server
        self.max_queued = max_queued
        self._queued: dict[str, int] = {}  # Engine.IO sid -> events queued, not yet written
        self._polls: dict[str, float | None] = {}  # None while a GET is pending, else its end
        self._websockets: dict[str, asyncio.Event] = {}  # set: end that connection
        self._ended: set[str] = set()  # closed here, until engine.io has dropped them
        self._tasks: set[asyncio.Future[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # -- the bound ------------------------------------------------------------------------

    async def admit(self, to: str | list[str], *, progress: bool) -> list[str] | None:
        """The local recipients of `to` (Socket.IO sids) that must not get this event; it is
        counted for each of the others. A socket over the bound is closed before this returns."""
        skip = [
            sid
            for sid, eio_sid in self.server.manager.get_participants("/", to)
            if not await self.take(eio_sid, progress=progress)
        ]
        return skip or None

    async def take(self, eio_sid: str, *, progress: bool, count: int = 1) -> bool:
        """Whether `count` more events may be queued for the session; counts them if so."""
        if eio_sid in self._ended:
            return False
        waiting = self._queued.get(eio_sid, 0)
        if waiting >= self.max_queued // 2:
            if progress:
                PROGRESS_DROPPED.inc()
                return False
            if waiting >= self.max_queued:
                SOCKETS_CLOSED_SLOW.labels("queue_full").inc()
                await self.close(eio_sid, QUEUE_FULL)
                return False
        self._queued[eio_sid] = waiting + count
        return True

    async def close(self, eio_sid: str, reason: str | None) -> None:
        """Close a session now, without waiting for its queue to drain: a websocket's
        connection ends; a polling session is closed and dropped from the server. `reason`
        is logged (None: the caller logged why)."""
        if eio_sid in self._ended:
            return
        self._ended.add(eio_sid)
        if reason is not None:
            log.info("socket %s closed: %s", eio_sid, reason)
        connection = self._websockets.get(eio_sid)
        if connection is not None:
            connection.set()
            return
        eio = self.server.eio
        # `disconnect` runs the disconnect handlers, marks the session closing, then waits for
        # its queue to drain, which a client that stopped polling never does: that wait is
        # given the ping timeout. Called again once the session is closing, it only drops it.
        closing = asyncio.ensure_future(eio.disconnect(eio_sid))
        self._tasks.add(closing)
        closing.add_done_callback(self._tasks.discard)
        asyncio.get_running_loop().call_later(eio.ping_timeout, closing.cancel)
        await asyncio.sleep(0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(eio.ping_timeout):
                await eio.disconnect(eio_sid)

    def _close_later(self, eio_sid: str, reason: str) -> None:
        """`close` from a timer."""
        task = asyncio.ensure_future(self.close(eio_sid, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what comes in ----------------------------------------------------------------------

    def _malformed(self, text: str) -> str | None:
        """Why an Engine.IO text packet from a client is not one the server can handle."""
        if not text.startswith("4"):
            return None  # not a message: Engine.IO answers its own packets
        try:
            pkt = self.server.packet_class(encoded_packet=text[1:])
        except (ValueError, TypeError, KeyError, IndexError) as error:
            return type(error).__name__
        if pkt.packet_type not in _FROM_CLIENT:
            return "ValueError"
        if pkt.packet_type in _EVENTS and not (isinstance(pkt.data, list) and pkt.data):
            return "IndexError"
        return None

    async def _refuse(self, eio_sid: str, problem: str) -> None:
        log.warning("malformed Socket.IO packet, connection closed: %s", problem)
        await self.close(eio_sid, None)

    # -- the ASGI channel ---------------------------------------------------------------------

    def around(self, app: ASGI) -> ASGI:
        """`app` (socketio.ASGIApp) with the Socket.IO path's traffic watched."""

        async def guarded(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
            kind = scope["type"]
            if kind not in ("http", "websocket") or not (scope["path"] + "/").startswith(PATH):
                await app(scope, receive, send)
            elif kind == "websocket":
                await self._websocket(app, scope, receive, send)
            else:
                await self._http(app, scope, receive, send)

        return guarded

    async def _http(
        self, app: ASGI, scope: MutableMapping[str, Any], receive: Receive, send: Send
    ) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        sid = query.get("sid", [None])[0]
        method = scope.get("method")
        if sid is None:
            if method == "GET":
                send = self._learning_handshake(send)
            await app(scope, receive, send)
            return
        if sid in self._ended and method == "POST":  # engine.io would raise on a closed one
            await _answer(send, 400, b"Session closed")
            return
        if sid not in self.server.eio.sockets:
            await app(scope, receive, send)  # engine.io answers an unknown session itself
            return
        if method == "POST":
            messages, body = await _read_body(receive, self.server.eio.max_http_buffer_size)
            packets = body.split(_RECORD_SEPARATOR) if body is not None else []
            problem = next(filter(None, map(self._malformed, packets)), None)
            if problem is not None:
                await self._refuse(sid, problem)
                await _answer(send, 200, b"ok")
                return
            await app(scope, _replay(messages, receive), send)
            return
        if method != "GET":
            await app(scope, receive, send)
            return
        self._polls[sid] = None

        async def draining(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._queued.pop(sid, None)  # the answer carries everything that was queued
            await send(message)

        try:
            await app(scope, receive, draining)
        finally:
            if sid in self._polls:
                self._polls[sid] = time.monotonic()

    def _learning_handshake(self, send: Send) -> Send:
        """A polling handshake's answer names the new session: it is watched from then on."""

        async def learning(message: Message) -> None:
            if message["type"] == "http.response.body":
                sid = _opened(message.get("body", b"").decode("utf-8", "replace"))
                if sid is not None:
                    self._polls[sid] = time.monotonic()
                    self._opened(sid)
            await send(message)

        return learning

    def _opened(self, eio_sid: str) -> None:
        """A new session: the CONNECT deadline starts, and the sweeper if it is not running."""
        deadline = float(self.server.connect_timeout)
        asyncio.get_running_loop().call_later(deadline, self._deadline_passed, eio_sid)
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="seam-socket-guard")

    def _deadline_passed(self, eio_sid: str) -> None:
        connected = self.server.manager.sid_from_eio_sid(eio_sid, "/") is not None
        if eio_sid in self.server.eio.sockets and not connected:
            self._close_later(eio_sid, NO_CONNECT)

    async def _websocket(
        self, app: ASGI, scope: MutableMapping[str, Any], receive: Receive, send: Send
    ) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        sid: str | None = query.get("sid", [None])[0]
        end = asyncio.Event()
        closed = False
        if sid is not None:  # an upgrade from polling
            self._websockets[sid] = end
            self._polls.pop(sid, None)
        incoming: asyncio.Future[Message] | None = None

        async def guarded_receive() -> Message:
            nonlocal incoming, closed
            while True:
                if incoming is None:
                    incoming = asyncio.ensure_future(receive())
                ending: asyncio.Future[Any] = asyncio.ensure_future(end.wait())
                await asyncio.wait([incoming, ending], return_when=asyncio.FIRST_COMPLETED)
                ending.cancel()
                if not incoming.done():
                    if not closed:
                        closed = True
                        await send({"type": "websocket.close", "code": 1000})
                    return {"type": "websocket.disconnect", "code": 1000}
                message, incoming = incoming.result(), None
                text = message.get("text") if message["type"] == "websocket.receive" else None
                problem = self._malformed(text) if text and sid is not None else None
                if problem is None:
                    return message
                await self._refuse(sid or "", problem)

        async def guarded_send(message: Message) -> None:
            nonlocal sid
            if closed:
                return  # ended here: engine.io's writer may still be draining
            text = message.get("text") if message["type"] == "websocket.send" else None
            if text is not None:
                if sid is None:
                    sid = _opened(text)
                    if sid is not None:
                        self._websockets[sid] = end
                        self._opened(sid)
                elif text.startswith("42"):
                    self._written(sid)
            await send(message)

        try:
            await app(scope, guarded_receive, guarded_send)
        finally:
            if incoming is not None:
                incoming.cancel()
            if sid is not None and self._websockets.get(sid) is end:
                del self._websockets[sid]
                self._forget(sid)

    def _written(self, eio_sid: str) -> None:
        waiting = self._queued.get(eio_sid, 0)
        if waiting > 1:
            self._queued[eio_sid] = waiting - 1
        else:
            self._queued.pop(eio_sid, None)

    # -- sessions that stopped polling ---------------------------------------------------------

    async def _sweep(self) -> None:
        """Every half ping timeout: close polling sessions with no GET pending for longer than
        the ping timeout, and forget the sessions that are gone."""
        eio = self.server.eio
        try:
            while self._polls or self._queued or self._ended:
                await asyncio.sleep(eio.ping_timeout / 2)
                now = time.monotonic()
                for sid, since in list(self._polls.items()):
                    if sid not in eio.sockets:
                        self._forget(sid)
                    elif since is not None and now - since > eio.ping_timeout:
                        SOCKETS_CLOSED_SLOW.labels("no_poll").inc()
                        self._polls.pop(sid, None)
                        await self.close(sid, NO_POLL)
                for sid in [s for s in (*self._queued, *self._ended) if s not in eio.sockets]:
                    self._forget(sid)
        finally:
            self._sweeper = None

    def _forget(self, eio_sid: str) -> None:
        self._polls.pop(eio_sid, None)
        self._queued.pop(eio_sid, None)
        self._ended.discard(eio_sid)

    async def stop(self) -> None:
        for task in [self._sweeper, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _opened(text: str) -> str | None:
    """The session id in an Engine.IO OPEN packet (`0{"sid": ...}`), else None."""
    if not text.startswith("0{"):
        return None
    try:
        sid = json.loads(text[1:]).get("sid")
    except ValueError:
        return None
    return sid if isinstance(sid, str) else None


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], str | None]:
    """A POST's messages, to be replayed, and its body as text; None past `limit` bytes,
    which engine.io refuses itself."""
    messages: list[Message] = []
    size = 0
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if size > limit:
        return messages, None
    return messages, b"".join(chunks).decode("utf-8", "replace")


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=UTF-8")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
