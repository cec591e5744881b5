"""Plain authorized requests answered without FastAPI's per-request machinery.

For a cached list, and for an edit, FastAPI's routing, dependency solving, body and parameter
handling and middleware layers cost more than the endpoint's own work (docs/benchmarks.md).
This lane takes only the requests that machinery would pass through unchanged: a request of an
eligible route whose path parameters are plain integers in range, whose query holds nothing but
its integer or bounded text parameters, whose JSON body (if the route takes one) the route's
model accepts, from a caller its guard admits. It runs the same guard, validates the body with
the same model and calls the same endpoint with the same arguments, under the same CORS rules
and exception handlers. Everything else (no token, a refused one, a guard that fails, a
parameter or a body FastAPI would reject or read otherwise) goes the full way, its body handed
on unread, so every refusal has one source.

A route is eligible when FastAPI would need nothing but the request and its body to call it:
no header, cookie, response or background-task parameters; query parameters that are ints
bounded by `ge`/`le` (with an int default or required), required text bounded by
`min_length`/`max_length` that refuses NUL (`nameUri`), or options that are off by default
(None or False: filters, `withTotal`); path parameters that are such ints; at most one body
parameter, a Pydantic model taken whole (not embedded); guards that take only the request
(`access.permitted`, `access.authenticated`); other dependencies only if they read nothing but
such options (the audit's filters), called with their defaults; and an endpoint that returns
its own `Response`. The lane answers only queries that leave every option off, passing their
defaults; a query naming one goes the full way.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson
from annotated_types import Ge, Le, MaxLen, MinLen
from fastapi import FastAPI, Request
from fastapi.params import Body
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from seam_api.core.types import NoNul
from seam_api.security.access import authenticated, permitted

Guard = Callable[[Request], Awaitable[Any]]
_GUARDS: tuple[Guard, ...] = (permitted, authenticated)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
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
    method: str
    request_arg: str
    guards: tuple[tuple[str, Guard], ...]
    params: dict[str, _IntParam | _TextParam]
    options_off: dict[str, bool | None]
    path_params: tuple[_IntParam, ...] = ()
    body: tuple[str, type[BaseModel]] | None = None  # the argument's name and its model
    defaults: tuple[tuple[str, Callable[[], Any]], ...] = ()  # dependencies of options only


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


def _body_model(field: Any) -> type[BaseModel] | None:
    """The model of a body parameter FastAPI validates whole, as JSON, with nothing else."""
    info = field.field_info
    model = info.annotation
    whole = isinstance(info, Body) and not info.embed and info.metadata == []
    if not (whole and inspect.isclass(model) and issubclass(model, BaseModel)):
        return None
    if field.alias != field.name or not info.is_required() or info.media_type != "application/json":
        return None
    return model


def _returns_response(route: APIRoute) -> bool:
    try:
        annotation = inspect.signature(route.endpoint, eval_str=True).return_annotation
    except NameError:  # a name only a type checker sees: not plainly a Response
        return False
    return inspect.isclass(annotation) and issubclass(annotation, Response)


def lane_for(route: APIRoute) -> _Lane | None:
    """The lane of `route`, or None when FastAPI must answer it (see the module's doc)."""
    dependant = route.dependant
    methods = route.methods or set()
    if len(methods) != 1 or not methods <= _METHODS:
        return None
    (method,) = methods
    if dependant.request_param_name is None or dependant.header_params or dependant.cookie_params:
        return None
    if dependant.response_param_name or dependant.background_tasks_param_name:
        return None
    if not _returns_response(route):
        return None  # FastAPI would serialise what it returns
    path_params = []
    for field in dependant.path_params:
        if (path_param := _int_param(field)) is None:
            return None
        path_params.append(path_param)
    body = None
    if dependant.body_params:
        model = _body_model(dependant.body_params[0])
        if method == "GET" or len(dependant.body_params) > 1 or model is None:
            return None
        body = (dependant.body_params[0].name, model)
    guards = []
    defaults = []
    for dependency in dependant.dependencies:
        if dependency.name is None or dependency.call is None:
            return None
        if dependency.call in _GUARDS:
            guards.append((dependency.name, dependency.call))
        elif _options_only(dependency):
            defaults.append((dependency.name, dependency.call))
        else:
            return None
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
    return _Lane(
        route,
        method,
        name,
        tuple(guards),
        params,
        options_off,
        tuple(path_params),
        body,
        tuple(defaults),
    )


def _options_only(dependency: Any) -> bool:
    """A plain function that reads only query options that are off by default (None or
    False): with none of them in the query, FastAPI would call it with its defaults."""
    call = dependency.call
    plain = inspect.isfunction(call) and not (
        inspect.iscoroutinefunction(call)
        or inspect.isgeneratorfunction(call)  # FastAPI runs these as context managers
        or inspect.isasyncgenfunction(call)
    )
    if not plain or dependency.dependencies:
        return False
    if dependency.path_params or dependency.header_params or dependency.cookie_params:
        return False
    if dependency.body_params or dependency.request_param_name:
        return False
    if dependency.http_connection_param_name or dependency.security_scopes_param_name:
        return False
    if dependency.response_param_name or dependency.background_tasks_param_name:
        return False
    return all(
        field.field_info.default is None or field.field_info.default is False
        for field in dependency.query_params
    )


class FastLane:
    """ASGI: eligible requests through the lane, everything else to `api`."""

    def __init__(self, api: FastAPI, routes: Iterable[object], cors: dict[str, Any]) -> None:
        self.api = api
        self._exact: dict[tuple[str, str], _Lane] = {}  # by method and path
        self._patterned: dict[str, list[_Lane]] = {}  # by method: lanes with path parameters
        for route in routes:
            if not isinstance(route, APIRoute) or (lane := lane_for(route)) is None:
                continue
            if lane.path_params:
                self._patterned.setdefault(lane.method, []).append(lane)
            else:
                self._exact[(lane.method, route.path)] = lane
        self._cors = CORSMiddleware(self._send_cross_origin, **cors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        lane = self._exact.get((method, path))
        in_path: dict[str, int] = {}
        if lane is None:
            for candidate in self._patterned.get(method, ()):
                found = _path_arguments(candidate, path, scope)
                if found is not None:
                    lane, in_path = candidate, found
                    break
        arguments = None if lane is None else _query_arguments(lane, scope["query_string"])
        if lane is None or arguments is None:
            await self.api(scope, receive, send)
            return
        arguments.update(in_path)
        body = b""
        if lane.body is not None:
            if not _plain_json(scope):
                await self.api(scope, receive, send)
                return
            received = await _receive_body(receive)
            receive = _replaying(received, receive)
            if received[-1]["type"] != "http.request":  # gone before its body was whole
                await self.api(scope, receive, send)
                return
            body = b"".join(message.get("body", b"") for message in received)
        scope["app"] = self.api
        scope["route"] = lane.route
        request = Request(scope, receive)
        try:
            for name, guard in lane.guards:
                arguments[name] = await guard(request)
        except Exception:  # a refusal, or a failure to check: FastAPI answers either
            await self.api(scope, receive, send)
            return
        for name, call in lane.defaults:
            arguments[name] = call()
        if lane.body is not None:
            name, model = lane.body
            try:
                # As FastAPI does (a JSON document, then the model in Python mode); what orjson
                # or the model refuses, FastAPI reads again and answers in its own words.
                arguments[name] = model.model_validate(orjson.loads(body))
            except (orjson.JSONDecodeError, ValidationError):
                await self.api(scope, receive, send)
                return
        arguments[lane.request_arg] = request
        response, cross_origin_rules = await self._answer(lane, arguments)
        if not cross_origin_rules:
            await response(scope, receive, send)
        elif any(name == b"origin" for name, _ in scope["headers"]):
            scope["seam.fast_lane"] = response
            await self._cors(scope, receive, send)  # a cross-origin call: Starlette's rules
        else:
            # What Starlette's CORS middleware adds to an answer to a call without an Origin;
            # set here because wrapping every answer in it cost 8 % of a read.
            response.raw_headers.append(_VARY_ORIGIN)
            await response(scope, receive, send)

    @staticmethod
    async def _send_cross_origin(scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = scope.pop("seam.fast_lane")
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


def _plain_json(scope: Scope) -> bool:
    """A body the lane may read: `Content-Type: application/json` (FastAPI also reads other
    JSON types, and none), framed by a `Content-Length` the request middleware has checked."""
    json = framed = False
    for name, value in scope["headers"]:
        if name == b"content-type":
            json = value.partition(b";")[0].strip().lower() == b"application/json"
        elif name == b"content-length":
            framed = True
        elif name == b"transfer-encoding":
            return False
    return json and framed


async def _receive_body(receive: Receive) -> list[Message]:
    """Every message up to the body's last part (or a disconnect), to replay if need be."""
    received = []
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return received


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """`receive` as if nothing had been read: what was, then whatever comes next."""
    pending = list(received)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _path_arguments(lane: _Lane, path: str, scope: Scope) -> dict[str, int] | None:
    """The endpoint's path arguments when `path` is the lane's route's, each value plain and in
    range; None otherwise. The scope gets them as Starlette's routing would set them."""
    match = lane.route.path_regex.match(path)
    if match is None:
        return None
    segments = match.groupdict()
    arguments: dict[str, int] = {}
    for param in lane.path_params:
        segment = segments[param.name]
        if not (segment.isascii() and segment.isdigit() and len(segment) <= _MAX_DIGITS):
            return None
        number = int(segment)
        if not param.low <= number <= param.high:
            return None
        arguments[param.name] = number
    scope["path_params"] = segments
    return arguments


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
