"""A request's head is bounded in size and in time on a real server: an oversized head is
refused before it is buffered, a slow one is cut off, and the server's memory stays put."""

from __future__ import annotations

import gc
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from seam_api.cli import connection_options
from seam_api.runtime.http_protocol import (
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    BoundedHttpToolsProtocol,
    bounded_protocol,
)
from tests.conftest import AppFactory, Server, start_server
from tests.server_process import served_here

HEAD_TIMEOUT = 1.0
CHUNK = b"a" * 65536


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("http"), {"SEAM_REQUEST_HEAD_TIMEOUT": str(HEAD_TIMEOUT)}
    )
    yield running
    running.stop()


def connect(server: Server) -> socket.socket:
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    return sock


def answer_of(sock: socket.socket) -> bytes:
    """What the server wrote before closing (b"" if it only closed)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_huge_header(server: Server, megabytes: int) -> bytes:
    sock = connect(server)
    try:
        sock.sendall(b"GET /api/v1/roles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ")
        for _ in range(megabytes * 16):
            sock.sendall(CHUNK)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = answer_of(sock)
    sock.close()
    return answer


def test_the_protocol_hooks_it_extends_are_still_uvicorns() -> None:
    """Fails if uvicorn renames what the bounded protocol overrides or calls."""
    for name in (
        "connection_made",
        "data_received",
        "on_header",
        "on_headers_complete",
        "on_message_complete",
        "connection_lost",
        "handle_websocket_upgrade",
    ):
        assert callable(getattr(HttpToolsProtocol, name)), name
    assert issubclass(BoundedHttpToolsProtocol, HttpToolsProtocol)


def test_an_oversized_header_is_refused_with_431_before_it_is_buffered(guarded: Server) -> None:
    before = resident_kib(guarded.pid)
    answers = [send_huge_header(guarded, 16) for _ in range(4)]
    grown_kib = resident_kib(guarded.pid) - before

    assert all(answer.startswith(b"HTTP/1.1 431 ") for answer in answers), answers[0][:200]
    assert grown_kib < 16 * 1024, f"the server grew by {grown_kib} KiB"


def test_a_head_within_the_bound_is_served(guarded: Server) -> None:
    sock = connect(guarded)
    padding = b"p" * (MAX_HEAD_BYTES // 2)
    sock.sendall(
        b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Pad: " + padding + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert answer_of(sock).startswith(b"HTTP/1.1 200 ")
    sock.close()


def test_too_many_headers_are_refused(guarded: Server) -> None:
    sock = connect(guarded)
    headers = b"".join(b"X-H%d: v\r\n" % number for number in range(MAX_HEADERS + 1))
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer_of(sock).startswith(b"HTTP/1.1 400 ")
    sock.close()


def test_a_head_sent_slowly_is_cut_off(guarded: Server) -> None:
    sock = connect(guarded)
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n")
    closed = False
    try:
        for number in range(int(HEAD_TIMEOUT * 10)):
            time.sleep(0.3)
            sock.sendall(b"X-Slow-%d: v\r\n" % number)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    answer = answer_of(sock)
    sock.close()

    assert closed or answer.startswith(b"HTTP/1.1 408 "), answer[:200]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_connection_upgraded_to_a_websocket_leaves_no_http_protocol_behind(
    make_app: AppFactory,
) -> None:
    """The head clock's check stops at the upgrade: a pending check would keep the websocket's
    HTTP protocol object (and its buffers) alive, for ever if it re-armed itself."""
    application = await make_app()
    options = {**connection_options(application.seam.settings), "http": bounded_protocol(0.2)}
    async with served_here(application.asgi, **options) as base:
        url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            assert (await ws.receive_str(timeout=5)).startswith("0")  # engine.io's open
            gc.collect()  # right away: the upgrade itself lets the HTTP protocol go
            left = [o for o in gc.get_objects() if isinstance(o, BoundedHttpToolsProtocol)]
            assert left == []
            assert not ws.closed  # the websocket itself is untouched
