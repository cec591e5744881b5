"""Liveness and readiness probes for load balancers and orchestrators.

Outside `/api/v1` and unauthenticated: a probe carries no token. Both are cheap; `/readyz`
asks the database and (when configured) Redis one trivial question each, with a short timeout,
so a probe never hangs on a dead dependency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json
from redis.asyncio import Redis
from sqlalchemy import text

from seam_api.core.db import Database
from seam_api.settings import Settings

PROBE_TIMEOUT = 2.0  # seconds per dependency

router = APIRouter(tags=["operations"])


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]
    failing: list[str]


class Probes:
    """What `/readyz` asks: the app's database, and a Redis client of its own."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._db = db
        self._redis = (
            Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
            if settings.redis_url
            else None
        )

    async def checks(self) -> dict[str, bool]:
        """Each dependency and whether it answered."""
        names = ["database"]
        pending: list[Awaitable[object]] = [self._database_ping()]
        if self._redis is not None:
            names.append("redis")
            pending.append(self._redis.ping())
        results = await asyncio.gather(
            *(asyncio.wait_for(check, PROBE_TIMEOUT) for check in pending), return_exceptions=True
        )
        return {
            name: not isinstance(result, BaseException)
            for name, result in zip(names, results, strict=True)
        }

    async def _database_ping(self) -> None:
        async with self._db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


@router.get(
    "/healthz", response_model=Liveness, summary="The process is alive", operation_id="checkHealth"
)
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database and Redis (when configured) answer; 503 names the one that does not",
    responses={503: {"model": Readiness, "description": "A dependency does not answer"}},
    operation_id="checkReadiness",
)
async def readyz(request: Request) -> Response:
    probes: Probes = request.app.state.probes
    checks = await probes.checks()
    failing = [name for name, answered in checks.items() if not answered]
    body = {
        "status": "unavailable" if failing else "ok",
        "checks": {name: "ok" if answered else "unavailable" for name, answered in checks.items()},
        "failing": failing,
    }
    return Response(
        to_json(body), status_code=503 if failing else 200, media_type="application/json"
    )
