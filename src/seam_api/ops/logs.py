"""Log setup: readable text or one JSON object a line, every record stamped with the running
request's id, and the access log line each HTTP request leaves.

The JSON formatter is ours rather than a library's: it is a dozen lines over orjson, which
the project already uses, and it writes exactly the fields the README lists under "Logs".
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

from seam_api.core.context import current

ACCESS_LOGGER = "seam_api.access"
access_log = logging.getLogger(ACCESS_LOGGER)

# Fields an access record carries beside the message (see `log_access`).
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client")
OWN_LOGGERS = ("seam_api", "uvicorn")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamp each record with the request id of the request it was logged in (or `-`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            context = current()
            record.request_id = (context.request_id if context else None) or "-"
        return True


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: any of them from a
# request (a path with %0D%0A, a header) could start a forged line or recolour a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\r": r"\r", "\n": r"\n", "\t": r"\t"}


def _escaped(match: re.Match[str]) -> str:
    character = match.group()
    code = ord(character)
    return _NAMED.get(character) or (rf"\x{code:02x}" if code < 0x100 else rf"\u{code:04x}")


class TextFormatter(logging.Formatter):
    """The text format, with control characters in the message escaped (`\\r`, `\\x1b`): one
    record is one line whatever a request carried. A traceback keeps its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL.sub(_escaped, record.message)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and the access
    fields when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for field in ACCESS_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure(*, level: str, json: bool) -> None:
    """Install one stderr handler on the root logger (SEAM_LOG_LEVEL, SEAM_LOG_FORMAT)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else TextFormatter(TEXT_FORMAT))
    # Neither format shows a record's thread, process or source line; not gathering them
    # (the logging HOWTO's "Optimization") gave 4 % more reads/s (bench (a), 2 A B pairs).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # skips the caller lookup
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    # DEBUG is ours and uvicorn's only: other libraries' debug output carries SQL parameters
    # (password hashes: aiosqlite logs every statement with its values) and socket packets.
    numeric = logging.getLevelName(level.upper())
    root.setLevel(max(numeric, logging.INFO))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(numeric)


def log_access(
    method: str, path: str, status: int, duration: float, client: str | None, request_id: str
) -> None:
    """The one line an HTTP request leaves. The path goes without its query string, which
    is the caller's to keep."""
    if access_log.isEnabledFor(logging.INFO):
        duration_ms = round(duration * 1000, 2)
        access_log.info(
            "%s %s %d %.2fms %s",
            method,
            path,
            status,
            duration_ms,
            client or "-",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "client": client,
                "request_id": request_id,
            },
        )
