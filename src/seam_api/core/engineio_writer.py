"""A cheaper wait in python-engineio's per-socket writer, for Python 3.11.

Every websocket has a writer task that loops on `AsyncSocket.poll()`, which waits for the
next packet with `asyncio.wait_for(queue.get(), ping_interval + ping_timeout)`. On Python 3.11
`wait_for` wraps the `get()` in a new task and arms a timer for every packet, so one
`data:changed` to 1,000 sockets makes 1,000 extra tasks. This `poll` takes a packet that is
already queued without waiting, and otherwise waits under `asyncio.timeout` (no extra task);
its behaviour is otherwise the library's: the same timeout, the same `QueueEmpty` on timeout
or cancellation, the same `None` sentinel handling. On Python 3.12+ `wait_for` is built on
`asyncio.timeout` already, so `install()` leaves the library alone there.

python-engineio exposes no hook for this, hence the replacement of one method. It is pinned to
the versions it was checked against (`TESTED_VERSIONS`): `install()` leaves any other alone
(with a warning: the server still works, as the library wrote it), and
tests/core/test_engineio_writer.py fails when the version or the method it replaces changes.
Written to be offered upstream as it stands.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from importlib.metadata import version
from typing import Any

from engineio import exceptions
from engineio.async_socket import AsyncSocket

TESTED_VERSIONS = frozenset({"4.15.1"})

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
    found = version("python-engineio")
    if found not in TESTED_VERSIONS:
        log.warning(
            "python-engineio %s is not one engineio_writer was checked against (%s): "
            "its own AsyncSocket.poll stays in place",
            found,
            ", ".join(sorted(TESTED_VERSIONS)),
        )
        return False
    AsyncSocket.poll = poll
    _installed = True
    return True
