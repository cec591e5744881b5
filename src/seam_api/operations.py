"""An operation is a first-class thing: what every service operation shares is written here once.

`@operation("user:edit")` names the running operation in the request context, emits `start`,
runs the service, then emits `success` and, for a mutation, drops cached reads everywhere and
hands the operation's log entry to delivery, which sends its `data:changed`; only then do the
sockets of tokens it revoked close. A mutation calls `record(...)` in its transaction, and the
transaction writes the entry as its last statement when it commits (contract 5.4: the change and
its event commit together; the log's sequence row is locked only until the commit). A failure
is not caught here: the global error handler emits `error` for the operation the context names,
with the same safe message as the HTTP response. Inside a service, `step("hashing")` reports
progress.

An operation whose data not every reader may see declares, once, the permission that data
needs (`data_needs="GET /api/v1/users"`): its `data:changed` carries the data only to sockets
whose role holds it, live and on replay, and `data: null` to the others; and its audit entries
show the others only which fields changed, without values or addresses. One rule for both, so
the audit trail is no side door. Audit-only entries that are not an operation of their own (a
failed sign-in) declare theirs with `entries_need`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.context import OperationRun, RequestContext, current
from seam_api.core.operation_names import is_mutation
from seam_api.messages import t
from seam_api.ports import Parts
from seam_api.realtime.eventlog import Changes
from seam_api.realtime.server import Realtime, jsonable

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
Summary = Callable[[Any], Any]

_summaries: dict[str, Summary] = {}
_data_needs: dict[str, str] = {}


def default_summary(result: Any) -> Any:
    """Lists are summarised by their length; an entity is its own summary."""
    if isinstance(result, list):
        return {"count": len(result)}
    return result


def operation(
    name: str, *, summary: Summary = default_summary, data_needs: str | None = None
) -> Callable[
    [Callable[Concatenate[Parts, P], Awaitable[R]]], Callable[Concatenate[Parts, P], Awaitable[R]]
]:
    """Run a service function as the contract operation `name`.

    `summary` picks what the events carry; it must leave secrets out (tokens, passwords).
    `data_needs` is the permission (a route's nameUri) a role must hold to receive the data of
    this operation's `data:changed` and to read the values in its audit entries.
    """
    _summaries[name] = summary
    if data_needs is not None:
        _data_needs[name] = data_needs

    def decorate(
        service: Callable[Concatenate[Parts, P], Awaitable[R]],
    ) -> Callable[Concatenate[Parts, P], Awaitable[R]]:
        @functools.wraps(service)
        async def run(seam: Parts, /, *args: P.args, **kwargs: P.kwargs) -> R:
            context = _context()
            realtime: Realtime = seam.realtime
            run = context.run = OperationRun(name)
            mutation = is_mutation(name)
            if mutation:
                # With Redis a network call: resolved before the service's transaction opens.
                run.initiator = await realtime.initiator(context)
            realtime.progress(context, "start", t(f"{name}.start"))
            try:
                result = await service(seam, *args, **kwargs)
                message = t(f"{name}.success")
                realtime.progress(context, "success", message, summary(result))
                if mutation and not run.unchanged:
                    await seam.data_changed()
                    if run.recorded is None:
                        log.error("mutation %s committed without a log entry", name)
                    else:
                        realtime.committed(run.recorded)
            finally:
                realtime.operation_reported(run)
            return result

        return run

    return decorate


def entries_need(data_needs: str, *names: str) -> None:
    """Declare what the data of audit-only entries named `names` needs, as `data_needs` does
    for an operation: they are written under a name of their own, not an operation's."""
    for name in names:
        _data_needs[name] = data_needs


def data_permission(name: str) -> str | None:
    """The permission the data of the entries named `name` needs (their `data:changed` data,
    their audit changes and addresses); None: everyone's. Handed to realtime by the app, since
    realtime sits below this module."""
    return _data_needs.get(name)


async def record(
    seam: Parts,
    conn: AsyncConnection,
    *,
    entity: str,
    entity_id: object,
    changes: Changes,
    result: Any,
) -> None:
    """Have the running mutation's entry (its audit record and its `data:changed`) appended to
    the log in `conn`'s transaction, as its last statement when it commits (core/db.py), so
    the change and its event commit together whatever the service does after this call.
    `result` is what the operation returns."""
    context = _context()
    run = _run(context)
    name = run.name
    message = t(f"{name}.success")
    payload = {
        "operation": name,
        "message": message,
        "data": jsonable(_summaries[name](result)),
        "initiatorSocketId": run.initiator,
    }

    async def append() -> None:
        run.recorded = await seam.events.append(
            conn,
            context=context,
            operation=name,
            message=message,
            entity=entity,
            entity_id=entity_id,
            changes=changes,
            payload=payload,
        )

    if run.before_commit is not None and run.before_commit[0] is conn:
        raise RuntimeError(f"{name} recorded twice in one transaction")
    run.before_commit = (conn, append)


def unchanged() -> None:
    """The running mutation ends without changing anything (an import's preview): it sends no
    `data:changed`, drops no cache and records no entry."""
    _run(_context()).unchanged = True


def step(seam: Parts, key: str) -> None:
    """Report a `processing` step of the running operation (`<operation>.<key>` message)."""
    context = _context()
    seam.realtime.progress(context, "processing", t(f"{context.operation}.{key}"))


def _run(context: RequestContext) -> OperationRun:
    if context.run is None:
        raise RuntimeError("record() and unchanged() run inside an @operation")
    return context.run


def _context() -> RequestContext:
    context = current()
    if context is None:
        raise RuntimeError("operations run inside a request context")
    return context
