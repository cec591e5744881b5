"""AppError and its few subclasses: the one place an exception becomes the contract's envelope.

Services raise these with a catalogue key; the handlers in `app.py` turn any exception into
`{"success": false, "message": ...}` with the right status, in the caller's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from seam_api.messages import t


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a 400's `errors` list."""

    field: str
    message: str


class AppError(Exception):
    """An error the caller can act on; `key` names its message in the catalogue."""

    status = 500

    def __init__(self, key: str, /, errors: list[FieldError] | None = None, **fields: object):
        super().__init__(key)
        self.key = key
        self.fields = fields
        self.errors = errors

    @property
    def message(self) -> str:
        """The safe, translated message (computed in the failing request's context)."""
        return t(self.key, None, **self.fields)

    def headers(self) -> dict[str, str] | None:
        """Extra response headers the status calls for (none but for 429 and 503)."""
        return None


def error_envelope(message: str, errors: list[FieldError] | None = None) -> bytes:
    """The contract's error envelope, serialised: the only place it is built."""
    body: dict[str, Any] = {"success": False, "message": message}
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return orjson.dumps(body)


class Invalid(AppError):
    status = 400


class Unauthorized(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class PayloadTooLarge(AppError):
    status = 413


class TooManyRequests(AppError):
    status = 429

    def __init__(self, key: str, /, retry_after: int) -> None:
        super().__init__(key)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(AppError):
    status = 503

    def __init__(self, key: str, /, retry_after: int | None = None) -> None:
        super().__init__(key)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        """A 503 that expects recovery says when to try again."""
        return None if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class InternalError(AppError):
    """What any unexpected exception becomes: a status and a message, never its text."""

    status = 500

    def __init__(self) -> None:
        super().__init__("errors.internal")
