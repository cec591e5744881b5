"""Where HTTP meets the core: every request gets its context, limits, metrics and log line."""

from __future__ import annotations

import os
import re
from time import perf_counter

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seam_api.core.context import RequestContext, begin
from seam_api.core.errors import AppError, FieldError, Invalid, PayloadTooLarge, error_envelope
from seam_api.core.storable import unstorable_in_url
from seam_api.messages import pick_locale, t
from seam_api.ops import metrics
from seam_api.ops.logs import log_access
from seam_api.web.envelope import JSON, error_response
from seam_api.web.forwarded import ClientAddresses

MAX_SOCKET_ID_LENGTH = 64
MAX_USER_AGENT_LENGTH = 255
# A caller's X-Request-ID is kept only if it is this tame (it reaches logs and the audit);
# anything else is replaced by a generated one.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")


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
    body = error_envelope(error.message)
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", JSON.encode()), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})
