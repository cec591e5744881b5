"""The per-request context, carried by `contextvars` (Node's AsyncLocalStorage counterpart).

A fresh `RequestContext` is set for every HTTP request and every socket handshake. Because it is
one mutable object, what a guard records (the caller) or an operation records (its name) is seen
by everything later in the request, including work handed to threads by `asyncio.to_thread`,
which copies the context.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class RequestContext:
    """Who is calling, from which browser tab, and which operation is running."""

    locale: str
    socket_id: str | None = None
    user_id: int | None = None
    role_id: int | None = None
    operation: str | None = None
    client_address: str | None = None
    user_agent: str | None = None
    # From `X-Request-ID` or generated; echoed in the response, the access log and the audit.
    request_id: str | None = None
    # The caller's email, for the audit entry of the running operation.
    user_email: str | None = None
    # The API key the caller used, if any: the audit entry names it beside its owner.
    key_id: int | None = None
    # Sockets to close once the running operation has queued its `success` (see
    # `Realtime.operation_reported`): ("user", id) or ("token", id). None until there are any,
    # so the common request allocates nothing for it.
    closing: list[tuple[str, int | str]] | None = None
    # The log entry the running mutation wrote in its transaction, delivered after the commit
    # (a `LoggedEvent`, see realtime/eventlog.py).
    recorded: Any = None
    # The running mutation's `initiatorSocketId`, resolved before its transaction opens.
    initiator: str | None = None
    # Set by a mutation that ended changing nothing (a preview): no event, no cache drop.
    unchanged: bool = False


_current: ContextVar[RequestContext | None] = ContextVar("seam_request_context", default=None)


def current() -> RequestContext | None:
    """The running request's context, or None outside a request."""
    return _current.get()


def begin(context: RequestContext) -> None:
    """Install a fresh context for the request that runs in this task."""
    _current.set(context)
