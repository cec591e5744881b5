"""sio_server leans on private methods of python-socketio: these fail when the library changes
under it. What the extensions do is tested where it shows: recovery's `pid` in
tests/e2e/test_recovery.py, the CONNECT deadline and bad packets in
tests/security/test_socket_hygiene.py."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from importlib.metadata import version

import engineio
import pytest
import socketio
from engineio.async_socket import AsyncSocket

from seam_api.core import sio_server
from seam_api.core.lean_queue import LeanQueue
from seam_api.core.sio_server import LeanEngineServer, SeamSocketServer

# sha256 of each python-socketio / python-engineio method SeamSocketServer overrides.
LEANED_ON = {
    "AsyncServer._send_packet": "a00022b42c1c29e908fd601c32aa1854aeaf2f131b3acc12461f6030e1ab9e9b",
    "AsyncServer._handle_eio_connect": (
        "76704886d944a7e648d24c37acb921c9866a58a6c1086f2cd9917ec0386e3517"
    ),
    "AsyncServer._handle_eio_message": (
        "bef50fc0e1635921c922995dba721d05d1c5ccc95d6a6b7647a1db75c4e6032e"
    ),
    "AsyncServer._handle_connect": (
        "c97c480cf777de36bd6348c6335ac61b324e6ed16372660100d10223faf79a74"
    ),
    "AsyncServer._handle_eio_disconnect": (
        "9344593148b66fd9b4e7614e7a1427f641c74c8cbf1d85263c0ca70d8bfeace5"
    ),
    "AsyncServer._engineio_server_class": (
        "199c42bf149247e0325bd5fb6c8bcc6c3703c5576704530fa92b383e0f777dd4"
    ),
    "engineio.AsyncServer.create_queue": (
        "5ff5673a0c0176813f16592f7a50a08b19fa1c017e36789f5662cfac366f58e2"
    ),
    # The slow-client bounds: what the queue bound and the poll sweeper wrap or call.
    "engineio.AsyncServer.send_packet": (
        "c54317440865030d979f95bfb1c98e8663057abaa9c004f1aecae4dd22783841"
    ),
    "engineio.AsyncServer.handle_request": (
        "1a8c878e35166cfe868d2cef40cdeb33af620541363a705c4dd2eea76c0f27af"
    ),
    "engineio.AsyncServer.shutdown": (
        "3f734c62c291d56aa1e715a571aaee561fdacef3b38e293a5498296bf73a82d5"
    ),
    # close(wait=False) queues the CLOSE packet and returns: `close_now` relies on it.
    "engineio.AsyncSocket.close": (
        "faa2e93902543244d2a1b772cdf4074d1615532e98fa6ca896739ca54ad64e76"
    ),
}
LIBRARIES = {
    "AsyncServer": socketio.AsyncServer,
    "engineio.AsyncServer": engineio.AsyncServer,
    "engineio.AsyncSocket": AsyncSocket,
}


def test_the_installed_libraries_are_the_tested_versions() -> None:
    for name, tested in sio_server.TESTED_WITH.items():
        assert version(name).startswith(tested + "."), name


@pytest.mark.parametrize("name", sorted(LEANED_ON))
def test_what_it_overrides_is_unchanged(name: str) -> None:
    # A change here means: read the new code, check the override still fits, update the digest.
    owner, method = name.rsplit(".", 1)
    source = inspect.getsource(getattr(LIBRARIES[owner], method))
    assert hashlib.sha256(source.encode()).hexdigest() == LEANED_ON[name]


async def test_its_engineio_server_gives_each_socket_a_lean_queue() -> None:
    server = SeamSocketServer(async_mode="asgi")
    assert type(server.eio) is LeanEngineServer
    assert isinstance(server.eio.create_queue(), LeanQueue)
    bounded = server.eio.create_queue(5)  # only asyncio's queue has a bound
    assert isinstance(bounded, asyncio.Queue) and bounded.maxsize == 5
