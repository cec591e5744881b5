"""uvicorn's websockets-sansio protocol, holding less for as long as a websocket stays open.

An idle Socket.IO tab costs its server memory for hours, so what each open connection keeps is
the bench's "memory per idle socket" (bench/README.md, "Memory per socket"). uvicorn's protocol
keeps, for the connection's whole life:

- an `asyncio.Queue` for received messages, whose four deques take 3 KiB even empty: a
  `LeanQueue` takes its place;
- the handshake request: uvicorn keeps it, and so does the websockets parser, as a local of
  the generator that goes on to parse every frame. Its headers are emptied once the ASGI scope
  has been built from them;
- the handshake response, needed only until it is written: dropped after.

With the other trims (python-engineio's queue in `core.sio_server`, the handshake's body reader
in `core.engineio_writer`, uvicorn's websocket pings off in `cli.connection_options`), memory per
idle socket went from 42.1 to 27.5 KiB at 1,000 sockets; each trim's share is in
bench/README.md, "Memory per socket".

This leans on uvicorn's protocol internals (`queue`, `handle_connect`, `start_keepalive`,
`response`): runtime/gate.py (override `lean_websocket`) uses it only while that code is the
one it was checked against, and uvicorn's own class otherwise.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from seam_api.runtime.lean_queue import LeanQueue


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """`WebSocketsSansIOProtocol` without the per-connection state it no longer needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = LeanQueue()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)  # builds the scope from the request's headers
        event.headers.clear()

    def start_keepalive(self) -> None:
        # uvicorn calls this once, right after it has written the handshake response.
        self.response = None  # type: ignore[assignment]
        super().start_keepalive()
