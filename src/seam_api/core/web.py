"""Where HTTP meets the core: the request middleware, the success envelope, the error handlers.

The success envelope is serialised once, by pydantic-core in Rust, straight from the schema
objects the services return; FastAPI's own response validation and encoding is skipped because
it costs ten times as much on a list (see the README's benchmark).
"""

from __future__ import annotations

import logging
import os
import re
from time import perf_counter
from typing import Any, Generic, Literal, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seam_api.core import metrics
from seam_api.core.cache import SerialisedList
from seam_api.core.context import RequestContext, begin, current
from seam_api.core.errors import (
    AppError,
    Conflict,
    FieldError,
    InternalError,
    Invalid,
    NotFound,
    PayloadTooLarge,
)
from seam_api.core.forwarded import ClientAddresses
from seam_api.core.logs import log_access
from seam_api.messages import CATALOGUES, pick_locale, t
from seam_api.web.storable import unstorable_in_url

log = logging.getLogger(__name__)

JSON = "application/json"
MAX_SOCKET_ID_LENGTH = 64
MAX_USER_AGENT_LENGTH = 255
# A caller's X-Request-ID is kept only if it is this tame (it reaches logs and the audit);
# anything else is replaced by a generated one.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """The success envelope as the OpenAPI schema documents it: `response_model=Envelope[X]`.

    Documentation only: `ok()` returns a ready Response, which FastAPI sends as it is.
    """

    success: Literal[True]
    message: str
    data: T


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorEnvelope(BaseModel):
    """The error envelope (docs/reference.md §1); `errors` only on a validation failure."""

    success: Literal[False]
    message: str
    errors: list[FieldProblem] | None = None


# Every route answers errors in one shape; documenting it for 4XX and 5XX also keeps FastAPI
# from advertising its 422, which this API never sends (validation failures are 400s).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorEnvelope, "description": "The error envelope"},
    "5XX": {"model": ErrorEnvelope, "description": "The error envelope, with no detail"},
}


class RequestContextMiddleware:
    """Give every HTTP request a fresh context, a request id, its client address, the body
    size limit, its metrics and its access log line.

    Pure ASGI (not BaseHTTPMiddleware) so the context lives in the request's own task and no
    extra task or body copy is paid per request. The limit is ours, not FastAPI's
    `max_body_size`: Starlette's limiter answers some oversized bodies itself, as plain text,
    where the contract wants its JSON envelope.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, addresses: ClientAddresses | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.addresses = addresses or ClientAddresses(())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        socket_id = accept_language = user_agent = forwarded_for = None
        request_id_header: bytes | None = None
        declared_length = 0
        chunked = False
        for name, value in scope["headers"]:
            if name == b"x-socket-id":
                socket_id = value.decode("latin-1")[:MAX_SOCKET_ID_LENGTH] or None
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")[:MAX_USER_AGENT_LENGTH]
            elif name == b"content-length" and value.isdigit():
                declared_length = int(value)
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
                request_id_header = value
            elif name == b"x-forwarded-for":
                hops = value.decode("latin-1")
                forwarded_for = f"{forwarded_for},{hops}" if forwarded_for else hops
        if request_id_header is None:
            # 32 random hex digits, as uuid4().hex looks, for a quarter of its cost.
            request_id_header = os.urandom(16).hex().encode()
        request_id = request_id_header.decode()
        client = scope.get("client")
        client_address = self.addresses.resolve(client[0] if client else None, forwarded_for)
        begin(
            RequestContext(
                locale=pick_locale(accept_language),
                socket_id=socket_id,
                client_address=client_address,
                user_agent=user_agent,
                request_id=request_id,
            )
        )
        status = 500
        echoed = (b"x-request-id", request_id_header)

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            if declared_length > self.max_body_bytes:
                await _send_error(PayloadTooLarge("errors.body_too_large"), send_with_request_id)
                return
            # A body framed by Content-Length is cut there by the parser, and that length was
            # checked above; only a chunked body must be counted as it arrives.
            limited = self._limited(receive) if chunked else receive
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
            field = unstorable_in_url(raw_path, scope["query_string"])
            if field is not None:
                unstorable = Invalid(
                    "errors.validation", errors=[FieldError(field, t("validation.unstorable"))]
                )
                await error_response(unstorable)(scope, receive, send_with_request_id)
                return
            await self.app(scope, limited, send_with_request_id)
        finally:
            duration = perf_counter() - started
            route = getattr(scope.get("route"), "path", None)
            metrics.observe_request(scope["method"], route, status, duration)
            log_access(scope["method"], scope["path"], status, duration, client_address, request_id)

    def _limited(self, receive: Receive) -> Receive:
        """Count the body as it arrives: a chunked upload has no Content-Length to trust."""
        seen = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413)
            return message

        return limited_receive


async def _send_error(error: AppError, send: Send) -> None:
    body = to_json({"success": False, "message": error.message})
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", JSON.encode()), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


def ok(data: Any, *, status: int = 200) -> Response:
    """The success envelope; its message is the running operation's success message, so the
    HTTP answer and the `success` event always say the same thing."""
    context = current()
    message = t(f"{context.operation}.success") if context and context.operation else ""
    data_json = data.json if isinstance(data, SerialisedList) else to_json(data, by_alias=True)
    body = b"".join((b'{"success":true,"message":', to_json(message), b',"data":', data_json, b"}"))
    return Response(body, status_code=status, media_type=JSON)


def error_response(error: AppError) -> Response:
    """The error envelope, and the `error` event for the operation that was running."""
    body: dict[str, Any] = {"success": False, "message": error.message}
    if error.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    retry_after = getattr(error, "retry_after", None)  # 429, and a 503 that expects recovery
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(to_json(body), status_code=error.status, media_type=JSON, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    names = [str(part) for part in location[1:] if not isinstance(part, int)]
    return ".".join(names) if names else str(location[0]) if location else "body"


def _validation_error(exc: RequestValidationError) -> Invalid:
    errors = []
    for problem in exc.errors():
        location = tuple(problem.get("loc", ()))
        if problem.get("type") == "json_invalid":
            errors.append(FieldError("body", t("errors.malformed_json")))
            continue
        errors.append(FieldError(_field_name(location), _field_message(problem)))
    return Invalid("errors.validation", errors=errors)


def _field_message(problem: Any) -> str:
    """The problem in the request's language, from the catalogue's `validation.<type>`.

    pydantic writes its messages in English only; its error type and context are stable,
    so they pick and fill our text. A type without a text keeps pydantic's English message,
    or a generic one in another language.
    """
    kind = str(problem.get("type", ""))
    fields = {name: value for name, value in (problem.get("ctx") or {}).items()}
    if kind == "value_error" and "reason" in fields:  # email-validator, through pydantic
        kind = "email"
    if f"validation.{kind}" in CATALOGUES["en"]:
        return t(f"validation.{kind}", **fields)
    context = current()
    if context is None or context.locale == "en":
        return str(problem.get("msg", t("validation.invalid")))
    return t("validation.invalid")


def _http_error(request: Request, exc: HTTPException) -> AppError:
    if exc.status_code in (404, 405):
        return NotFound("errors.route_not_found", method=request.method, path=request.url.path)
    if exc.status_code == 413:
        return PayloadTooLarge("errors.body_too_large")
    if 400 <= exc.status_code < 500:
        return Invalid("errors.bad_request")
    return InternalError()


def install_error_handlers(app: FastAPI) -> None:
    """Every exception ends here: the envelope, the status, and the `error` event.

    Called before the routers are included, so that every route documents the error envelope.
    """
    app.router.responses = {**ERROR_RESPONSES, **app.router.responses}

    def respond(request: Request, error: AppError) -> Response:
        context = current()
        if context is not None and context.operation is not None:
            request.app.state.seam.realtime.progress(context, "error", error.message)
        return error_response(error)

    async def on_app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        return respond(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return respond(request, _validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return respond(request, _http_error(request, exc))

    async def on_integrity(request: Request, exc: Exception) -> Response:
        # A unique or foreign key the service's own check could not see (a concurrent write):
        # the database refused it, so nothing was written. Its text names SQL and values: not sent.
        log.warning("integrity error in %s %s", request.method, request.url.path)
        return respond(request, Conflict("errors.conflict"))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return respond(request, InternalError())

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(Exception, on_unexpected)
