"""What the readiness probe asks: the database and (when configured) Redis, one trivial
question each with a short timeout, so a probe never hangs on a dead dependency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from redis.asyncio import Redis
from sqlalchemy import text

from seam_api.core.db import Database
from seam_api.settings import Settings

PROBE_TIMEOUT = 2.0  # seconds per dependency


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
