"""What /openapi.json says beyond FastAPI's defaults, and the docs pages served offline.

The bearer scheme is written into the schema from the guards each route depends on, rather
than by making the guards FastAPI `Security` dependencies: those would be solved on every
request, and dependency solving is already the largest share of a cached read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from seam_api.core.storable import MAX_QUERY_VALUE
from seam_api.core.types import NO_NUL_PATTERN
from seam_api.security.access import (
    authenticated,
    changing_password,
    enrolling_mfa,
    may_register_any_role,
    permitted,
    signed_in,
)
from seam_api.web.params import API_PREFIX

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = "/docs-assets"
BEARER = "bearerAuth"
SOCKET_ID_HEADER: dict[str, Any] = {
    "name": "X-Socket-ID",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The Socket.IO id of the caller's tab: its `operation:progress` events go "
    "there, and `data:changed` names it as `initiatorSocketId`.",
}
_ENVELOPE_NAME = re.compile(r"(?:List)?Envelope_(list_)?(\w+?)_+")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# The pages' own scripts and styles come from this origin; the one inline bootstrap each page
# has is allowed by its hash, not by 'unsafe-inline'. Styles stay inline-capable: both UIs set
# style attributes and ReDoc injects its styles at run time. The one outside origin is the
# image of ReDoc's "API docs by Redocly" footer, which its bundle loads from its CDN: an image,
# never a script. No framing (clickjacking).
REDOC_LOGO_ORIGIN = "https://cdn.redoc.ly"
_DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data: {REDOC_LOGO_ORIGIN}; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_REQUIRED = (authenticated, permitted, signed_in, changing_password, enrolling_mfa)
_OPTIONAL = (may_register_any_role,)


def _security(route: APIRoute) -> list[dict[str, list[str]]] | None:
    calls = {dependency.call for dependency in route.dependant.dependencies}
    if calls & set(_REQUIRED):
        return [{BEARER: []}]
    if calls & set(_OPTIONAL):
        return [{}, {BEARER: []}]  # anonymous, or signed in with more rights
    return None


def _storable(schema: dict[str, Any]) -> None:
    """Say in a URL parameter's schema what core/storable.py refuses: NUL, and more than
    MAX_QUERY_VALUE characters."""
    for branch in [schema, *schema.get("anyOf", ())]:
        if branch.get("type") == "string" and "enum" not in branch and "const" not in branch:
            branch.setdefault("pattern", NO_NUL_PATTERN)
            branch["maxLength"] = min(branch.get("maxLength", MAX_QUERY_VALUE), MAX_QUERY_VALUE)


def _model_name(name: str) -> str:
    """`Envelope_list_UserOut__` -> `UserListEnvelope`, `UserOut` -> `User`: names a client
    generator turns into readable classes (pydantic names generics `Envelope[list[UserOut]]`)."""
    match = _ENVELOPE_NAME.fullmatch(name)
    if match:
        inner = "Empty" if match.group(2) == "NoneType" else match.group(2).removesuffix("Out")
        return f"{inner}{'List' if match.group(1) else ''}Envelope"
    return name.removesuffix("Out") if name.endswith("Out") else name


def _rename_models(schema: dict[str, Any]) -> dict[str, Any]:
    models = schema["components"]["schemas"]
    renames = {old: _model_name(old) for old in models if _model_name(old) != old}
    assert len(set(renames.values()) | (set(models) - set(renames))) == len(models), renames
    text = json.dumps(schema)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: dict[str, Any] = json.loads(text)
    models = renamed["components"]["schemas"]
    for old, new in renames.items():
        models[new] = {**models.pop(old), "title": new}
    renamed["components"]["schemas"] = dict(sorted(models.items()))
    return renamed


def _schema(api: FastAPI, routes: list[BaseRoute]) -> dict[str, Any]:
    if api.openapi_schema is not None:
        return api.openapi_schema
    schema = get_openapi(
        title=api.title, version=api.version, description=api.description, routes=api.routes
    )
    schema.setdefault("components", {})["securitySchemes"] = {
        BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        security = _security(route)
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            if security is not None:
                operation["security"] = security
            if route.path_format.startswith(API_PREFIX):
                operation.setdefault("parameters", []).append(SOCKET_ID_HEADER)
            for parameter in operation.get("parameters", ()):
                if parameter["in"] in ("query", "path"):
                    _storable(parameter["schema"])
    api.openapi_schema = _rename_models(schema)
    return api.openapi_schema


def _under_policy(page: HTMLResponse) -> HTMLResponse:
    """The page with a Content-Security-Policy that admits exactly its inline scripts."""
    html = bytes(page.body).decode()
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    headers = {
        "Content-Security-Policy": _DOCS_POLICY.format(hashes=hashes),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(html, headers=headers)


def install(api: FastAPI, routes: Iterable[BaseRoute]) -> None:
    """The schema above for `routes` (the routers' own routes: FastAPI's app-level table may
    hold included routers rather than their routes), and Swagger UI at /docs and ReDoc at
    /redoc from packaged files.

    Create the app with `docs_url=None, redoc_url=None` so FastAPI's CDN pages are not mounted.
    """
    documented = list(routes)
    api.openapi = lambda: _schema(api, documented)  # type: ignore[method-assign]
    api.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")

    swagger_page = _under_policy(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{api.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/swagger-ui/favicon-32x32.png",
        )
    )
    redoc_page = _under_policy(
        get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{api.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
    )

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return swagger_page

    @api.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return redoc_page
