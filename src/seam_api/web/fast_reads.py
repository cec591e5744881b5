"""Plain authorized GETs answered without FastAPI's per-request machinery.

For a cached list, FastAPI's dependency solving, parameter validation and middleware layers
cost more than everything else in the request together (bench/README.md, "Reads"). This lane
takes only the requests that machinery would pass through unchanged: a GET of an eligible route
whose query holds nothing but its integer parameters, plain and in range, from a caller its
guard admits. It runs the same guard and calls the same endpoint with the same arguments, under
the same CORS rules and exception handlers. Everything else (no token, a refused one, a guard
that fails, a parameter FastAPI would reject or that it does not know) goes the full way, so
every refusal has one source.

A route is eligible when FastAPI would need nothing but the request to call it: no header, cookie
or body parameters; query parameters that are ints bounded by `ge`/`le` (with an int default or
required), required text bounded by `min_length`/`max_length` that refuses NUL (`nameUri`), or
options that are off by default (None or False: filters, `withTotal`); at most one
path parameter, such an int and the path's last segment (`/users/{id}`); and guards that take
only the request (`access.permitted`, `access.authenticated`). The lane answers only queries
that leave every option off, passing their defaults; a query naming one goes the full way.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from annotated_types import Ge, Le, MaxLen, MinLen
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from seam_api.core.types import NoNul
from seam_api.security.access import authenticated, permitted

Guard = Callable[[Request], Awaitable[Any]]
_GUARDS: tuple[Guard, ...] = (permitted, authenticated)
_MAX_DIGITS = 9  # more than any bound here: FastAPI answers the rest
_VARY_ORIGIN = (b"vary", b"Origin")


@dataclass(frozen=True, slots=True)
class _IntParam:
    name: str
    default: int | None  # None: required (a missing one is FastAPI's to refuse)
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class _TextParam:
    """A required text query parameter, `low` to `high` characters, no NUL (`NoNul`)."""

    name: str
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class _Lane:
    """One eligible route, what its endpoint takes, and how to check it."""

    route: APIRoute
    request_arg: str
    guards: tuple[tuple[str, Guard], ...]
    params: dict[str, _IntParam | _TextParam]
    options_off: dict[str, bool | None]
    path_param: _IntParam | None = None


def _int_param(field: Any) -> _IntParam | None:
    info = field.field_info
    if info.annotation is not int or field.alias != field.name:
        return None
    required = info.is_required()
    if not required and not isinstance(info.default, int):
        return None
    low, high = None, None
    for rule in info.metadata:
        if isinstance(rule, Ge):
            low = int(rule.ge)  # type: ignore[call-overload]
        elif isinstance(rule, Le):
            high = int(rule.le)  # type: ignore[call-overload]
        else:
            return None  # a rule this lane does not know: FastAPI's to check
    if low is None or high is None:
        return None
    return _IntParam(field.alias, None if required else info.default, low, high)


def _text_param(field: Any) -> _TextParam | None:
    info = field.field_info
    if info.annotation is not str or field.alias != field.name or not info.is_required():
        return None
    low, high, refuses_nul = None, None, False
    for rule in info.metadata:
        if isinstance(rule, MinLen):
            low = rule.min_length
        elif isinstance(rule, MaxLen):
            high = rule.max_length
        elif rule is NoNul:
            refuses_nul = True
        else:
            return None  # a rule this lane does not know: FastAPI's to check
    if low is None or high is None or not refuses_nul:
        return None
    return _TextParam(field.alias, low, high)


def lane_for(route: APIRoute) -> _Lane | None:
    """The lane of `route`, or None when FastAPI must answer it (see the module's doc)."""
    dependant = route.dependant
    if route.methods != {"GET"} or dependant.request_param_name is None:
        return None
    if dependant.header_params or dependant.cookie_params or len(dependant.path_params) > 1:
        return None
    path_param = None
    if dependant.path_params:
        path_param = _int_param(dependant.path_params[0])
        if path_param is None or _param_prefix(route.path, path_param) is None:
            return None
    if dependant.body_params:
        return None
    guards = []
    for dependency in dependant.dependencies:
        if dependency.call not in _GUARDS or dependency.name is None:
            return None
        guards.append((dependency.name, dependency.call))
    params: dict[str, _IntParam | _TextParam] = {}
    options_off: dict[str, bool | None] = {}
    for field in dependant.query_params:
        param = _int_param(field) or _text_param(field)
        if param is not None:
            params[param.name] = param
        elif field.field_info.default is None or field.field_info.default is False:
            options_off[field.name] = field.field_info.default
        else:
            return None
    name = dependant.request_param_name
    return _Lane(route, name, tuple(guards), params, options_off, path_param)


def _param_prefix(path: str, param: _IntParam) -> str | None:
    """`/users` of `/users/{id}`: the path before its only parameter, its last segment."""
    prefix, _, last = path.rpartition("/")
    return prefix if last == f"{{{param.name}}}" and "{" not in prefix else None


class FastReads:
    """ASGI: eligible GETs through the lane, everything else to `api`."""

    def __init__(self, api: FastAPI, routes: Iterable[object], cors: dict[str, Any]) -> None:
        self.api = api
        self._lanes: dict[str, _Lane] = {}
        self._by_prefix: dict[str, _Lane] = {}  # lanes with a path parameter
        for route in routes:
            if not isinstance(route, APIRoute) or (lane := lane_for(route)) is None:
                continue
            if lane.path_param is None:
                self._lanes[route.path] = lane
            elif (prefix := _param_prefix(route.path, lane.path_param)) is not None:
                self._by_prefix[prefix] = lane
        self._cors = CORSMiddleware(self._send_cross_origin, **cors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.api(scope, receive, send)
            return
        lane = self._lanes.get(scope["path"])
        arguments = None
        if lane is not None:
            arguments = _query_arguments(lane, scope["query_string"])
        elif self._by_prefix:
            prefix, _, last = scope["path"].rpartition("/")
            lane = self._by_prefix.get(prefix)
            if lane is not None and lane.path_param is not None:
                arguments = _path_arguments(lane.path_param, last, scope)
                if arguments is not None:
                    arguments.update(lane.options_off)
        if lane is None or arguments is None:
            await self.api(scope, receive, send)
            return
        scope["app"] = self.api
        scope["route"] = lane.route
        request = Request(scope, receive)
        try:
            for name, guard in lane.guards:
                arguments[name] = await guard(request)
        except Exception:  # a refusal, or a failure to check: FastAPI answers either
            await self.api(scope, receive, send)
            return
        arguments[lane.request_arg] = request
        response, cross_origin_rules = await self._answer(lane, arguments)
        if not cross_origin_rules:
            await response(scope, receive, send)
        elif any(name == b"origin" for name, _ in scope["headers"]):
            scope["seam.fast_read"] = response
            await self._cors(scope, receive, send)  # a cross-origin call: Starlette's rules
        else:
            # What Starlette's CORS middleware adds to an answer to a call without an Origin;
            # set here because wrapping every answer in it cost 8 % of a read.
            response.raw_headers.append(_VARY_ORIGIN)
            await response(scope, receive, send)

    @staticmethod
    async def _send_cross_origin(scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = scope.pop("seam.fast_read")
        await response(scope, receive, send)

    async def _answer(self, lane: _Lane, arguments: dict[str, Any]) -> tuple[Response, bool]:
        """The endpoint's response, or its error's, and whether CORS rules apply to it: in
        FastAPI, the handler of `Exception` answers outside the CORS middleware."""
        try:
            return await lane.route.endpoint(**arguments), True
        except Exception as error:  # the app's own handlers decide, as in FastAPI
            request = arguments[lane.request_arg]
            handlers = self.api.exception_handlers
            kind = next(kind for kind in type(error).__mro__ if kind in handlers)
            handled = handlers[kind](request, error)
            response: Response = await handled if inspect.isawaitable(handled) else handled
            return response, kind is not Exception


def _path_arguments(param: _IntParam, segment: str, scope: Scope) -> dict[str, Any] | None:
    """The endpoint's arguments for a path parameter route: its value, in range, and no query
    at all (any query is FastAPI's to read); None otherwise. The scope gets the path parameter
    as Starlette's routing would set it."""
    plain = segment.isascii() and segment.isdigit() and len(segment) <= _MAX_DIGITS
    if scope["query_string"] or not plain:
        return None
    number = int(segment)
    if not param.low <= number <= param.high:
        return None
    scope["path_params"] = {param.name: segment}
    return {param.name: number}


def _query_arguments(lane: _Lane, query_string: bytes) -> dict[str, Any] | None:
    """The endpoint's query arguments, or None when the query is not plainly valid.

    Split by hand rather than with `parse_qsl`, which cost 4 % of a read: a name or a number
    holding an escape (`%`, `+`), or an empty pair, goes the full way instead; a text value is
    decoded as `parse_qsl` (Starlette's) decodes it."""
    arguments: dict[str, Any] = {}
    if query_string:
        for pair in query_string.split(b"&"):
            key, _, value = pair.partition(b"=")
            param = lane.params.get(key.decode("latin-1"))
            if param is None or param.name in arguments:
                return None
            if isinstance(param, _TextParam):
                text = unquote_plus(value.decode("latin-1"), errors="replace")
                if not param.low <= len(text) <= param.high or "\x00" in text:
                    return None
                arguments[param.name] = text
                continue
            if not (value.isdigit() and len(value) <= _MAX_DIGITS):
                return None
            number = int(value)
            if not param.low <= number <= param.high:
                return None
            arguments[param.name] = number
    for name, param in lane.params.items():
        if name not in arguments:
            if isinstance(param, _TextParam) or param.default is None:
                return None  # required: FastAPI answers its absence
            arguments[name] = param.default
    arguments.update(lane.options_off)
    return arguments
