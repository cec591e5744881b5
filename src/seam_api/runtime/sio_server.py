"""python-socketio's server, plus three things it does not expose. Kept in this one module.

1. **Connection state recovery.** socket.io-client 4.6+ recovers a session when the CONNECT
   reply carries a private session id (`pid`) and it gets the same one back after a reconnect;
   python-socketio (its issue #1258) writes `{"sid": ...}` only, with no hook to add to it. The
   connect handler stores the socket's pid in `pids`; `_send_packet` adds it to that reply.
2. **A deadline for CONNECT** (the JavaScript server's `connectTimeout`): an Engine.IO session
   that never sends a Socket.IO CONNECT would otherwise live as long as it answers pings.
3. **Malformed packets** are one warning line and a closed connection, not a traceback each;
   the close does not wait for a GET that a polling client may never send.
4. **A lighter packet queue per socket.** python-engineio makes each socket's queue with
   `create_queue()`, an `asyncio.Queue` of four deques (3 KiB even empty); its Engine.IO server
   here makes a `LeanQueue` instead (runtime/lean_queue.py).
5. **Slow clients are bounded** (docs/reference.md 5.5). A socket's queue grows while its
   client does not read, and a polling client that stops sending GETs but answers pings with
   unsolicited PONGs was never closed: every event addressed to it stayed in memory. Once
   `max_queued // 2` packets wait, `operation:progress` to it is dropped (it is live feedback
   only); at `max_queued`, any other packet closes the socket instead of waiting, and the
   client recovers the `data:changed` it missed from the event log when it reconnects. A
   polling session with no GET pending for longer than the ping timeout is closed as well.

When runtime/gate.py turns this off, `PlainSocketServer` is the library's server as it is, and
realtime/guard.py keeps 2, 3 and 5 from outside the libraries.

Everything here leans on private methods of python-socketio 5.18 (`_send_packet`,
`_handle_eio_connect`, `_handle_eio_message`, `_handle_connect`, `_engineio_server_class`) and
on what python-engineio's `send_packet`, `handle_request`, `shutdown` and `AsyncSocket.close`
do; runtime/gate.py holds their versions and digests, and tests/runtime/test_gate.py fails if
the library changes under it. Written so it could be offered upstream as options of `AsyncServer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import engineio
import socketio
from socketio import packet

from seam_api.ops.metrics import PROGRESS_DROPPED, SOCKETS_CLOSED_SLOW
from seam_api.runtime.lean_queue import LeanQueue

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 45.0  # seconds, as the JavaScript server's default
MAX_QUEUED = 1000  # packets waiting for one socket (SEAM_SOCKET_QUEUE_MAX)
# An operation:progress event as encoded for the wire after Engine.IO's message type.
_PROGRESS = '2["operation:progress"'
_QUEUE_FULL = "slow client: its queue is full"
_NO_POLL = "slow client: no poll within the ping timeout"


class SeamSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """`AsyncServer` with recovery's `pid`, a CONNECT deadline and quiet bad packets."""

    def __init__(self, *args: Any, connect_timeout: float = CONNECT_TIMEOUT, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pids: dict[str, str] = {}
        self.connect_timeout = connect_timeout
        self._deadlines: dict[str, asyncio.TimerHandle] = {}

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return LeanEngineServer

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        if pkt.packet_type == packet.CONNECT and isinstance(pkt.data, dict):
            pid = self.pids.pop(pkt.data.get("sid", ""), None)
            if pid is not None:
                pkt.data = {**pkt.data, "pid": pid}
        await super()._send_packet(eio_sid, pkt)

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        result = await super()._handle_eio_connect(eio_sid, environ)
        loop = asyncio.get_running_loop()
        self._deadlines[eio_sid] = loop.call_later(
            self.connect_timeout, self._deadline_passed, eio_sid
        )
        return result

    def _deadline_passed(self, eio_sid: str) -> None:
        self._deadlines.pop(eio_sid, None)
        if self.manager.sid_from_eio_sid(eio_sid, "/") is None:
            task = asyncio.ensure_future(self.eio.disconnect(eio_sid))
            task.add_done_callback(_ignore_result)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        deadline = self._deadlines.pop(eio_sid, None)
        if deadline is not None:
            deadline.cancel()
        await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, KeyError, IndexError) as error:
            log.warning("malformed Socket.IO packet, connection closed: %s", type(error).__name__)
            await self.eio.close_now(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        deadline = self._deadlines.pop(eio_sid, None)
        if deadline is not None:
            deadline.cancel()
        await super()._handle_eio_disconnect(eio_sid, reason)


class PlainSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """The library's server as it is, for when runtime/gate.py turns `socket_server` off: the
    CONNECT reply carries no pid, so clients reconnect without recovery and reload instead.
    The other bounds are kept from outside the library by realtime/guard.py."""

    def __init__(self, *args: Any, connect_timeout: float = CONNECT_TIMEOUT, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Written by the connect handler and dropped at disconnect, never sent.
        self.pids: dict[str, str] = {}
        self.connect_timeout = connect_timeout  # kept by realtime/guard.py


class LeanEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server, making each socket's packet queue a `LeanQueue`, bounded,
    and closing polling sessions that stopped polling."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_queued = MAX_QUEUED
        # Polling sessions: None while a GET is pending, else when the last one ended.
        self._polls: dict[str, float | None] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def send_packet(self, sid: str, pkt: Any) -> None:
        socket = self.sockets.get(sid)
        waiting = socket.queue.qsize() if socket is not None else 0
        if waiting >= self.max_queued // 2:
            if isinstance(pkt.data, str) and pkt.data.startswith(_PROGRESS):
                PROGRESS_DROPPED.inc()
                return
            if waiting >= self.max_queued:
                await self._close_slow(sid, _QUEUE_FULL, "queue_full")
                return
        await super().send_packet(sid, pkt)

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        """Note when each polling session's GETs start and end (the ASGI scope is first)."""
        scope = args[0] if args and isinstance(args[0], dict) else {}
        if self._sweeper is None and scope.get("type") == "http":
            self._sweeper = asyncio.create_task(self._sweep(), name="seam-poll-sweeper")
        sid = _polling_get_sid(scope)
        if sid is None:
            return await super().handle_request(*args, **kwargs)
        self._polls[sid] = None
        try:
            return await super().handle_request(*args, **kwargs)
        finally:
            if sid in self._polls:
                self._polls[sid] = time.monotonic()

    async def _sweep(self) -> None:
        """Close polling sessions with no GET pending for longer than the ping timeout, from
        their first sight: a client that answers pings without reading (or never reads after
        the handshake) would otherwise live for good."""
        try:
            while True:
                await asyncio.sleep(self.ping_timeout / 2)
                if not self.sockets:
                    return
                now = time.monotonic()
                for sid in [sid for sid in self._polls if sid not in self.sockets]:
                    del self._polls[sid]
                for sid, socket in list(self.sockets.items()):
                    if socket.closed or socket.upgraded or socket.upgrading:
                        self._polls.pop(sid, None)
                        continue
                    since = self._polls.setdefault(sid, now)
                    if since is not None and now - since > self.ping_timeout:
                        await self._close_slow(sid, _NO_POLL, "no_poll")
        finally:
            self._sweeper = None

    async def _close_slow(self, sid: str, reason: str, label: str) -> None:
        self._polls.pop(sid, None)
        SOCKETS_CLOSED_SLOW.labels(label).inc()
        log.info("socket %s closed: %s", sid, reason)
        await self.close_now(sid, reason)

    async def shutdown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await super().shutdown()

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # a bounded queue: only asyncio's has the bound
            return super().create_queue(*args, **kwargs)
        return LeanQueue()

    async def close_now(self, sid: str, reason: Any = None) -> None:
        """Close a session without waiting for its queue to drain. `disconnect` waits, and a
        polling client that stopped sending GETs never drains it: the caller (a POST's
        handler) would wait for good."""
        socket = self.sockets.pop(sid, None)
        if socket is not None:
            await socket.close(wait=False, reason=reason or self.reason.SERVER_DISCONNECT)


def _polling_get_sid(scope: dict[str, Any]) -> str | None:
    """The session of a polling GET (not a websocket upgrade), from its ASGI scope."""
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return None
    query = scope.get("query_string", b"")
    if b"transport=polling" not in query or b"sid=" not in query:
        return None
    for part in query.split(b"&"):
        if part.startswith(b"sid="):
            return part[4:].decode("latin-1") or None
    return None


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("closing a session without CONNECT failed: %s", task.exception())
