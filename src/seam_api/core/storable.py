"""One rule for text a request carries: a database must be able to store and compare it.

PostgreSQL refuses NUL characters, and every driver fails on text that is not valid UTF-8 (a
lone surrogate from a JSON `\\ud800` escape, or `%ED%A0%80` in a URL). Caught per field, each
new field or filter was a chance to forget it, and a forgotten one was a 500 with a traceback
(or a dropped connection mid-export). So the rule is written once, here, and applied where text
enters and where it would leave for the database, on every database alike:
- the request middleware checks the path and every query parameter before any route runs
  (the 400 names the parameter); an over-long query name or value (more than
  `MAX_QUERY_VALUE` characters, past any column or filter of this API) goes too;
- the database layer checks every statement's text parameters (core/db.py), which covers a
  body's fields whatever route or schema they came through, and only what would be stored or
  compared: an unknown field the schemas ignore is no one's concern.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

MAX_QUERY_VALUE = 1000


def unstorable_in_url(path: bytes, query: bytes) -> str | None:
    """The name of the first URL part (`path` or a query parameter) that fails the rule."""
    if not _storable_bytes(unquote_to_bytes(path)):
        return "path"
    if not query or (len(query) <= MAX_QUERY_VALUE and query.isascii() and b"%" not in query):
        return None  # the common case, on every request: plain ASCII, short, nothing escaped
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


def _storable_bytes(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")  # strict: surrogates encoded as bytes are refused too
    except UnicodeDecodeError:
        return False
    return True


def storable_text(text: str) -> bool:
    """Whether a database can store `text`: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
