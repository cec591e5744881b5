"""One rule for text a request carries: a database must be able to store and compare it.

PostgreSQL refuses NUL characters, and every driver fails on text that is not valid UTF-8 (a
lone surrogate from a JSON `\\ud800` escape, or `%ED%A0%80` in a URL). Caught per field, each
new field or filter was a chance to forget it, and a forgotten one was a 500 with a traceback
(or a dropped connection mid-export). So the request middleware checks every query value, the
path and a JSON body here, before any route runs, on every database alike; an over-long query
name or value (more than `MAX_QUERY_VALUE` characters, past any column or filter of this API)
goes too. The 400 names the field, as a validation error does.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

MAX_QUERY_VALUE = 1000


def unstorable_in_url(path: bytes, query: bytes) -> str | None:
    """The name of the first URL part (`path` or a query parameter) that fails the rule."""
    if not _storable_bytes(unquote_to_bytes(path)):
        return "path"
    if not query:
        return None
    for pair in query.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name = unquote_to_bytes(raw_name.replace(b"+", b" "))
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        if not (_storable_bytes(name) and _storable_bytes(value)):
            return name.decode("utf-8", "replace").replace("\x00", "") or "query"
        for part in (name, value):
            if len(part) > MAX_QUERY_VALUE and len(part.decode()) > MAX_QUERY_VALUE:
                return name.decode()[:MAX_QUERY_VALUE]
    return None


def unstorable_in_json(body: bytes) -> str | None:
    """Where a JSON body holds text that fails the rule (a field's dotted name, or `body`),
    or None. Malformed JSON passes: the validation layer answers that with its own message."""
    if not _storable_bytes(body):
        return "body"
    if b"\\u" not in body:
        return None  # no escape, so no NUL or surrogate that the bytes did not show
    try:
        return _unstorable_at(json.loads(body), "")
    except (ValueError, RecursionError):
        return None


def _storable_bytes(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")  # strict: surrogates encoded as bytes are refused too
    except UnicodeDecodeError:
        return False
    return True


def _storable_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _unstorable_at(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return None if _storable_text(value) else where or "body"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if not _storable_text(key):
                return where or "body"
            found = _unstorable_at(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_at(item, f"{where}.{index}" if where else str(index))
            if found is not None:
                return found
    return None
