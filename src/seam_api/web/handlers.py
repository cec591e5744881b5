"""Every exception ends here: the envelope, the status, and the operation's `error` event."""

from __future__ import annotations

import logging
import re
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
        if problem.get("type") == "json_invalid":
            errors.append(FieldError("body", t("errors.malformed_json")))
            continue
        errors.append(_field_problem(tuple(problem.get("loc", ())), problem))
    return Invalid("errors.validation", errors=errors)


def field_problems(error: ValidationError) -> list[FieldError]:
    """A pydantic error raised outside FastAPI's parsing (a body's part checked on its own),
    worded as a 400's `errors`, in the request's language."""
    return [_field_problem(("body", *problem["loc"]), problem) for problem in error.errors()]


# pydantic's error types that mean the same thing to a person share one sentence.
_SENTENCE_OF = {
    "int_parsing": "int_type",
    "int_parsing_size": "int_type",
    "int_from_float": "int_type",
    "bool_parsing": "bool_type",
    "dict_type": "object_type",
    "model_type": "object_type",
    "model_attributes_type": "object_type",
}
_DATETIME_TYPES = ("datetime_", "date_", "timezone_")


def _field_problem(location: tuple[Any, ...], problem: Any) -> FieldError:
    """One problem as a sentence about the field, in the request's language.

    pydantic writes its messages in English only, for programmers ("Input should be 'idUser',
    ..."); its error type and context are stable, so they pick and fill a sentence of the
    catalogue that names the field: a body field by its label ("Name must be at least 2
    characters"), a query or path parameter by its name ("Parameter sort must be one of: ...").
    An error of the whole body about one field (`null_not_allowed`) names that field.
    """
    fields = dict(problem.get("ctx") or {})
    about = fields.get("field")
    if isinstance(about, str):
        location = (*location, about)
    named = [str(part) for part in location[1:] if isinstance(part, str)] or ["body"]
    return FieldError(
        _field_name(location),
        t(f"validation.{_kind(problem, fields)}", **_filled(fields, _label(location, named[-1]))),
    )


def _label(location: tuple[Any, ...], name: str) -> str:
    """What a sentence calls the field: a parameter by its name; a body field by its label,
    or its items' ("A permission") when the problem is one item of a list."""
    if location[:1] in (("query",), ("path",)):
        return t("label.parameter", name=name)
    if isinstance(location[-1], int) and f"label.{name}.item" in CATALOGUES["en"]:
        return t(f"label.{name}.item")
    return t(f"label.{name}") if f"label.{name}" in CATALOGUES["en"] else name


def _kind(problem: Any, fields: dict[str, Any]) -> str:
    kind = str(problem.get("type", ""))
    if kind == "value_error" and "reason" in fields:  # email-validator, through pydantic
        return "email"
    if kind in ("string_too_short", "too_short") and fields.get("min_length") == 1:
        return "empty"
    if kind.startswith(_DATETIME_TYPES):
        return "datetime"
    kind = _SENTENCE_OF.get(kind, kind)
    return kind if f"validation.{kind}" in CATALOGUES["en"] else "invalid"


def _filled(fields: dict[str, Any], label: str) -> dict[str, Any]:
    """The context a sentence is filled from: the label, and a literal's choices as a plain
    list (`idUser, -idUser`, not `'idUser', '-idUser'`)."""
    expected = fields.get("expected")
    if isinstance(expected, str):
        choices = re.findall(r"'([^']*)'", expected) or re.split(r", | or ", expected)
        fields["expected"] = ", ".join(choices)
    return {**fields, "label": label}


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
