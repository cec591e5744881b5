"""Socket.IO client managers that deliver a broadcast in one loop instead of one task each.

python-socketio's `AsyncManager.emit` encodes a packet once, then creates an asyncio task per
recipient and waits for all of them. Each task only appends the packet to that socket's queue
(its writer task does the network write), so with 1,000 sockets the task bookkeeping costs
more than the work. These managers keep the library's encoding and delivery calls (the public
`eio.send_packet`) and drop the tasks; emits with callbacks keep the library's path. A packet
that fits one websocket frame is framed once per emit and written straight to each idle
connection (`engineio_writer.write_now`); the rest are queued for the socket's writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from seam_api.runtime import engineio_writer

log = logging.getLogger(__name__)


class DirectFanout(socketio.AsyncManager):  # type: ignore[misc]
    """The in-process manager, with a task-free broadcast."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to
            )
            return
        room = to or room
        if namespace not in self.rooms:
            return
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        packets = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        text = packets[0].encode() if len(packets) == 1 else None
        wire = engineio_writer.text_frame(text) if isinstance(text, str) else None
        eio = self.server.eio
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            try:
                if wire is not None and engineio_writer.write_now(eio.sockets.get(eio_sid), wire):
                    continue
                for pkt in packets:
                    await eio.send_packet(eio_sid, pkt)
            except Exception:  # a socket closing mid-broadcast must not stop the rest
                log.debug("dropped %s for closing socket %s", event, sid)


class RedisFanout(socketio.AsyncRedisManager, DirectFanout):  # type: ignore[misc]
    """The Redis manager (contract 5.3); each instance delivers what it receives through
    `DirectFanout`, which sits between the pub/sub layer and `AsyncManager` in the MRO."""

    async def close(self) -> None:
        """End the listening task and its Redis connection: the library's manager has no
        shutdown, so a stopped server left both open until the process exited."""
        listener = getattr(self, "thread", None)
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        for client in (getattr(self, "pubsub", None), getattr(self, "redis", None)):
            if client is not None:
                with contextlib.suppress(Exception):  # already gone with Redis: nothing to end
                    await client.aclose()
