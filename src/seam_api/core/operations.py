"""An operation is a first-class thing: what every service operation shares is written here once.

`@operation("user:edit")` names the running operation in the request context, emits `start`,
runs the service, then emits `success` and, for a mutation, drops cached reads everywhere and
emits `data:changed`; only then do the sockets of tokens it revoked close. A failure is not
caught here: the global error handler emits `error` for the operation the context names, with
the same safe message as the HTTP response. Inside a service, `step("hashing")` reports progress.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from seam_api.core.context import RequestContext, current
from seam_api.core.realtime import Realtime, is_mutation
from seam_api.messages import t

P = ParamSpec("P")
R = TypeVar("R")
Summary = Callable[[Any], Any]


def default_summary(result: Any) -> Any:
    """Lists are summarised by their length; an entity is its own summary."""
    if isinstance(result, list):
        return {"count": len(result)}
    return result


def operation(
    name: str, *, summary: Summary = default_summary
) -> Callable[
    [Callable[Concatenate[Any, P], Awaitable[R]]], Callable[Concatenate[Any, P], Awaitable[R]]
]:
    """Run a service function as the contract operation `name`.

    `summary` picks what the events carry; it must leave secrets out (tokens, passwords).
    """

    def decorate(
        service: Callable[Concatenate[Any, P], Awaitable[R]],
    ) -> Callable[Concatenate[Any, P], Awaitable[R]]:
        @functools.wraps(service)
        async def run(seam: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
            context = _context()
            realtime: Realtime = seam.realtime
            context.operation = name
            realtime.progress(context, "start", t(f"{name}.start"))
            try:
                result = await service(seam, *args, **kwargs)
                message = t(f"{name}.success")
                data = summary(result)
                realtime.progress(context, "success", message, data)
                if is_mutation(name):
                    await seam.data_changed()
                    realtime.changed(context, message, data)
            finally:
                realtime.operation_reported(context)
            return result

        return run

    return decorate


def step(seam: Any, key: str) -> None:
    """Report a `processing` step of the running operation (`<operation>.<key>` message)."""
    context = _context()
    seam.realtime.progress(context, "processing", t(f"{context.operation}.{key}"))


def _context() -> RequestContext:
    context = current()
    if context is None:
        raise RuntimeError("operations run inside a request context")
    return context
