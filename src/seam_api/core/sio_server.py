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
   here makes a `LeanQueue` instead (core/lean_queue.py).

Everything here leans on private methods of python-socketio 5.18 (`_send_packet`,
`_handle_eio_connect`, `_handle_eio_message`, `_handle_connect`, `_engineio_server_class`); the
versions are pinned in pyproject.toml, and tests/core/test_sio_server.py fails if the library
changes under it. Written so it could be offered upstream as options of `AsyncServer`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import engineio
import socketio
from socketio import packet

from seam_api.core.lean_queue import LeanQueue

log = logging.getLogger(__name__)

TESTED_WITH = {"python-socketio": "5.18", "python-engineio": "4.15"}
CONNECT_TIMEOUT = 45.0  # seconds, as the JavaScript server's default


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


class LeanEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server, making each socket's packet queue a `LeanQueue`."""

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


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("closing a session without CONNECT failed: %s", task.exception())
