"""sio_server leans on private methods of python-socketio: these fail when the library changes
under it. What the extensions do is tested where it shows: recovery's `pid` in
tests/e2e/test_recovery.py, the CONNECT deadline and bad packets in
tests/security/test_socket_hygiene.py."""

from __future__ import annotations

import asyncio

from seam_api.runtime.lean_queue import LeanQueue
from seam_api.runtime.sio_server import LeanEngineServer, SeamSocketServer


async def test_its_engineio_server_gives_each_socket_a_lean_queue() -> None:
    server = SeamSocketServer(async_mode="asgi")
    assert type(server.eio) is LeanEngineServer
    assert isinstance(server.eio.create_queue(), LeanQueue)
    bounded = server.eio.create_queue(5)  # only asyncio's queue has a bound
    assert isinstance(bounded, asyncio.Queue) and bounded.maxsize == 5
