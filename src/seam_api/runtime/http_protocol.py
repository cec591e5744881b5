"""uvicorn's httptools protocol with the two bounds it lacks: on the size and on the time of a
request's head (request line and headers).

httptools (llhttp) sets no limit: a 50 MB header is buffered whole and then parsed, and a
client sending one header line a second keeps its connection (and its buffers) for as long as
it likes. h11 bounds the size but not the time, and serves fewer requests per second, so the
fast parser is kept and bounded here. This extends uvicorn through its protocol class's
internals (`data_received` and the parser callbacks): uvicorn is pinned below 0.55 in
pyproject.toml, and tests/core/test_http_protocol.py fails if the hooks used here move.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from seam_api.core.errors import error_envelope

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
_HEAD_END = b"\r\n\r\n"


class TooManyHeaders(Exception):
    """Raised inside the parser: uvicorn answers 400 and closes the connection."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Refuses a request head over `MAX_HEAD_BYTES` (431) or `MAX_HEADERS` headers (400), and
    closes a connection whose head is not complete `head_timeout` seconds after it began
    (408). The clock starts with the connection, and for a kept-alive connection with the
    first byte of its next request: between requests uvicorn's keep-alive timeout applies.

    The clock is a timestamp, read by one check per connection every quarter of the timeout
    (so a slow head is closed within 1 to 1.25 times it): arming and cancelling a timer for
    every request was about 3 % of a cached read's profile."""

    head_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = True
        self._head_started: float | None = self.loop.time()
        self._head_check = self.loop.call_later(self.head_timeout / 4, self._check_head)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            if self._head_started is None:
                self._head_started = self.loop.time()
            # Counted up to the end of the head: body bytes in the same chunk do not count. A
            # head end split across two chunks counts the second chunk whole (a rare overcount).
            end = data.find(_HEAD_END)
            self._head_bytes += len(data) if end < 0 else end + len(_HEAD_END)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(
                    431, "Request Header Fields Too Large", "The request headers are too large"
                )
                return
        super().data_received(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            raise TooManyHeaders
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._end_head()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # the next request's head; its clock starts with its first byte
        self._head_bytes = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        self._head_check.cancel()
        super().connection_lost(exc)

    def _end_head(self) -> None:
        self._in_head = False
        self._head_started = None

    def handle_websocket_upgrade(self) -> None:
        self._head_check.cancel()  # the connection is the websocket protocol's from here
        super().handle_websocket_upgrade()

    def _check_head(self) -> None:
        if self.transport.is_closing():
            return
        started = self._head_started  # set only while a head is arriving
        if started is not None and self.loop.time() - started >= self.head_timeout:
            self._refuse(408, "Request Timeout", "The request headers took too long to arrive")
            return
        self._head_check = self.loop.call_later(self.head_timeout / 4, self._check_head)

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._end_head()
        body = error_envelope(message)
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


def bounded_protocol(head_timeout: float) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for uvicorn's `http` option, with this deployment's head timeout."""
    return type("SeamHttpProtocol", (BoundedHttpToolsProtocol,), {"head_timeout": head_timeout})
