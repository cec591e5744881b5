"""Every exception ends here: the envelope, the status, and the operation's `error` event."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from seam_api.core.context import current
from seam_api.core.errors import (
    AppError,
    Conflict,
    FieldError,
    InternalError,
    Invalid,
    NotFound,
    PayloadTooLarge,
)
from seam_api.messages import CATALOGUES, t
from seam_api.web.envelope import ERROR_RESPONSES, error_response

log = logging.getLogger(__name__)


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


def field_problems(error: ValidationError) -> list[FieldError]:
    """A pydantic error raised outside FastAPI's parsing (a body's part checked on its own),
    worded as a 400's `errors`, in the request's language."""
    return [
        FieldError(_field_name(("body", *problem["loc"])), _field_message(problem))
        for problem in error.errors()
    ]


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
    # A field people fill in gets a sentence that names it ("Name must be at least 2
    # characters") rather than pydantic's wording about strings.
    named = [str(part) for part in problem.get("loc", ()) if isinstance(part, str)]
    label = f"label.{named[-1]}" if named else ""
    if label in CATALOGUES["en"] and f"validation.named.{kind}" in CATALOGUES["en"]:
        return t(f"validation.named.{kind}", label=t(label), **fields)
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
