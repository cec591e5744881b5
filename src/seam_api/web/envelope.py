"""The contract's success envelope, and the response for an error: built here and only here.

The success envelope is serialised once, by pydantic-core in Rust, straight from the schema
objects the services return; FastAPI's own response validation and encoding is skipped because
it costs ten times as much on a list (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json

from seam_api.core.cache import SerialisedList
from seam_api.core.context import current
from seam_api.core.errors import AppError, error_envelope
from seam_api.messages import t

JSON = "application/json"

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """The success envelope as the OpenAPI schema documents it: `response_model=Envelope[X]`.

    Documentation only: `ok()` returns a ready Response, which FastAPI sends as it is.
    """

    success: Literal[True]
    message: str
    data: T


class PageMeta(BaseModel):
    """Where a page sits in its list: `total` counts every row matching the filters."""

    page: int
    limit: int
    total: int


class ListEnvelope(Envelope[T], Generic[T]):
    """A list's envelope: `meta` only when the caller asked for the total."""

    meta: PageMeta | None = None


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


def ok(data: Any, *, status: int = 200, meta: PageMeta | None = None) -> Response:
    """The success envelope; its message is the running operation's success message, so the
    HTTP answer and the `success` event always say the same thing."""
    context = current()
    message = t(f"{context.operation}.success") if context and context.operation else ""
    data_json = data.json if isinstance(data, SerialisedList) else to_json(data, by_alias=True)
    body = b"".join((b'{"success":true,"message":', to_json(message), b',"data":', data_json))
    body += b"}" if meta is None else b',"meta":' + to_json(meta) + b"}"
    return Response(body, status_code=status, media_type=JSON)


def error_response(error: AppError) -> Response:
    """The error envelope with the error's status and headers."""
    return Response(
        error_envelope(error.message, error.errors),
        status_code=error.status,
        media_type=JSON,
        headers=error.headers(),
    )
