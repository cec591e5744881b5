"""Serve the admin console: `/admin/static/...` files, and index.html for every other `/admin`
path, so that the browser's own routing (`/admin/users`) survives a reload.

The files are listed once at import: a request can only name a file in that table, so no path
from the URL ever reaches the file system. Every answer carries a strict Content-Security-Policy
(scripts and styles from this origin only, no inline script, no eval).
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from seam_api.core.errors import NotFound
from seam_api.core.operation_names import READ_OPERATIONS, READ_SUFFIXES

STATIC = Path(__file__).parent / "static"
INDEX = STATIC / "index.html"
CONSOLE_PATH = "/admin"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
# Licence and version files are served as text so a reader can open them beside the code.
TEXT = "text/plain; charset=utf-8"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

FILES: dict[str, Path] = {
    path.relative_to(STATIC).as_posix(): path
    for path in sorted(STATIC.rglob("*"))
    if path.is_file() and path != INDEX
}

OPERATIONS_MODULE = (
    "// Served by the server from seam_api.core.operation_names.\n"
    f"export const READ_SUFFIXES = {json.dumps(list(READ_SUFFIXES))};\n"
    f"export const READ_OPERATIONS = {json.dumps(sorted(READ_OPERATIONS))};\n"
)

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)


def _file(path: Path, *, cache: str) -> Response:
    media_type = CONTENT_TYPES.get(path.suffix, TEXT)
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/static/js/operations.js")
async def operation_names() -> Response:
    """The server's own lists of read operations, as a module the console imports, so the
    console's idea of what is a read cannot drift from the server's."""
    return Response(
        OPERATIONS_MODULE,
        media_type=CONTENT_TYPES[".js"],
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/static/{name:path}")
async def static_file(name: str) -> Response:
    path = FILES.get(name)
    if path is None:
        raise NotFound("errors.route_not_found", method="GET", path=f"{CONSOLE_PATH}/static/{name}")
    # Revalidated on every load: the files change with the installed version, not their names.
    return _file(path, cache="no-cache")


@router.get("")
@router.get("/{page:path}")
async def index(page: str = "") -> Response:
    """The single page; the browser picks what to show from the path."""
    return _file(INDEX, cache="no-cache")
