"""The per-request context, carried by `contextvars` (Node's AsyncLocalStorage counterpart).

A fresh `RequestContext` is set for every HTTP request and every socket handshake. Because it is
one mutable object, what a guard records (the caller) is seen by everything later in the
request, including work handed to threads by `asyncio.to_thread`, which copies the context.
The running operation keeps its own state in one `OperationRun`, made fresh by `@operation`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Closing:
    """Sockets to close: every socket of a user, or those of one token or session."""

    kind: Literal["user", "token"]
    key: int | str  # the user's id, or the token's (or session's) id


@dataclass(slots=True)
class OperationRun:
    """One operation's life in its request, from `start` to the sockets it closes last."""

    name: str
    # Its `initiatorSocketId`, resolved before its transaction opens (nothing but the database
    # may run inside one).
    initiator: str | None = None
    # Its log entry: written by `Database.transaction()` as the last statement of the
    # transaction on that connection (`before_commit`), then delivered after the commit.
    before_commit: tuple[AsyncConnection, Callable[[], Awaitable[None]]] | None = None
    recorded: Any = None
    # Sockets to close once its `success` is queued (`Realtime.operation_reported`); None
    # until there are any, so the common request allocates nothing for it.
    closing: list[Closing] | None = None
    # It ended changing nothing (a preview): no event, no cache drop.
    unchanged: bool = False


@dataclass(slots=True)
class RequestContext:
    """Who is calling, from which browser tab, and which operation is running."""

    locale: str
    socket_id: str | None = None
    user_id: int | None = None
    role_id: int | None = None
    client_address: str | None = None
    user_agent: str | None = None
    # From `X-Request-ID` or generated; echoed in the response, the access log and the audit.
    request_id: str | None = None
    # The caller's email, for the audit entry of the running operation.
    user_email: str | None = None
    # The API key the caller used, if any: the audit entry names it beside its owner.
    key_id: int | None = None
    run: OperationRun | None = None  # the operation running in this request, if any

    @property
    def operation(self) -> str | None:
        """The running operation's name (the progress events and error messages name it)."""
        return None if self.run is None else self.run.name


_current: ContextVar[RequestContext | None] = ContextVar("seam_request_context", default=None)


def current() -> RequestContext | None:
    """The running request's context, or None outside a request."""
    return _current.get()


def begin(context: RequestContext) -> None:
    """Install a fresh context for the request that runs in this task."""
    _current.set(context)
