"""create_app(settings): the FastAPI routes and the Socket.IO server as one ASGI application.

Request path: Socket.IO's ASGI app takes `/socket.io/`; everything else passes through the
request-context middleware (context, body limit) into FastAPI, its guards and routers.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import socketio
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from seam_api.accounts.router import router as account_router
from seam_api.accounts.router import users_router as account_users_router
from seam_api.apikeys.router import router as apikeys_router
from seam_api.apikeys.router import users_router as apikeys_users_router
from seam_api.audit.router import router as audit_router
from seam_api.auth.router import router as auth_router
from seam_api.console.router import router as console_router
from seam_api.container import Seam
from seam_api.messages import set_default_locale
from seam_api.operations import data_permission
from seam_api.ops import metrics
from seam_api.ops.probes import Probes
from seam_api.passwords.router import invitations as invitations_router
from seam_api.passwords.router import router as passwords_router
from seam_api.permissions.router import router as permissions_router
from seam_api.realtime.guard import ASGI
from seam_api.roles.router import router as roles_router
from seam_api.runtime import engineio_writer, gate
from seam_api.sessions.router import router as sessions_router
from seam_api.sessions.router import users_router as sessions_users_router
from seam_api.settings import Settings
from seam_api.sidebar.router import router as sidebar_router
from seam_api.users.router import router as users_router
from seam_api.web import openapi
from seam_api.web.fast_lane import FastLane
from seam_api.web.forwarded import ClientAddresses
from seam_api.web.handlers import install_error_handlers
from seam_api.web.middleware import RequestContextMiddleware
from seam_api.web.operator_routes import metrics_router
from seam_api.web.operator_routes import router as probes_router

# The API's resources. A new resource's router goes here (docs/extending.md).
ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    account_router,
    sessions_router,
    users_router,
    account_users_router,
    sessions_users_router,
    roles_router,
    permissions_router,
    sidebar_router,
    audit_router,
    apikeys_router,
    apikeys_users_router,
    passwords_router,
    invitations_router,
)


def route_table(routers: Iterable[APIRouter]) -> tuple[BaseRoute, ...]:
    """The routes of `routers`, the one table that route permissions (the bootstrap's seed, the
    guard's check), the OpenAPI schema and the fast read lane are derived from."""
    return tuple(route for router in routers for route in router.routes)


@dataclass(frozen=True, slots=True)
class Application:
    """What a server runs (`asgi`) and what tests and the CLI reach into."""

    asgi: ASGI
    api: FastAPI
    seam: Seam
    routes: tuple[BaseRoute, ...]  # the route table, which the bootstrap seeds from


def cors_options(cors_origin: str) -> dict[str, Any]:
    """Starlette's CORS middleware options for SEAM_CORS_ORIGIN (`*` or a comma list)."""
    origins = ["*"] if cors_origin == "*" else cors_origin.split(",")
    return {
        "allow_origins": [origin.strip() for origin in origins],
        "allow_methods": ["*"],
        "allow_headers": ["*"],
    }


def create_app(settings: Settings, *, resources: Iterable[APIRouter] = ()) -> Application:
    """The app of ROUTERS and `resources`: routers mounted exactly like the built-in ones, for
    a resource kept outside this package (a test's, a plug-in's)."""
    routers = (*ROUTERS, *resources)
    routes = route_table(routers)
    set_default_locale(settings.locale)
    overrides = gate.decide(settings.library_overrides)
    if "engineio_poll" in overrides:
        engineio_writer.install()  # a cheaper per-socket writer; see the module
    seam = Seam(settings, overrides=overrides, data_needs=data_permission)
    probes = Probes(settings, seam.db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await seam.start()
        # Everything alive now (modules, schemas, routes) lives as long as the process; moving
        # it out of the collector's view shortens the full collections that stall requests.
        gc.freeze()
        try:
            yield
        finally:
            await probes.close()
            await seam.stop()

    api = FastAPI(
        title="SEAM API",
        version="1.0.0",
        description="Auth, users, roles, route permissions and menus, with live progress "
        "and change events over Socket.IO.",
        lifespan=lifespan,
        docs_url=None,  # served from packaged files by core.openapi, not from a CDN
        redoc_url=None,
    )
    api.state.seam = seam
    api.state.probes = probes
    cors = cors_options(settings.cors_origin)
    api.add_middleware(CORSMiddleware, **cors)
    install_error_handlers(api)
    for router in routers:
        api.include_router(router)
    api.include_router(probes_router)
    api.include_router(console_router)  # /admin: static files, outside the API's route table
    openapi.install(api, [*routes, *probes_router.routes])
    api.include_router(metrics_router)
    metrics.watch(seam)
    http = RequestContextMiddleware(
        FastLane(api, routes, cors),
        max_body_bytes=settings.max_body_bytes,
        addresses=ClientAddresses(settings.trusted_networks),
    )
    asgi = seam.realtime.asgi(socketio.ASGIApp(seam.realtime.server, other_asgi_app=http))
    return Application(asgi=asgi, api=api, seam=seam, routes=routes)
