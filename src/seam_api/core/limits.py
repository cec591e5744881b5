"""Failed-login limits per account and per client address (429 with Retry-After).

Fixed windows counted in process, or in Redis when it is configured so that every instance
shares the count. If Redis fails, counting falls back to this process rather than failing
logins or letting attempts through uncounted.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class _MemoryCounter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    def count(self, key: str) -> tuple[int, int]:
        """(failures in the window, seconds until it ends)."""
        ends, failures = self._windows.get(key, (0.0, 0))
        left = ends - time.monotonic()
        return (failures, int(left) + 1) if left > 0 else (0, 0)

    def add(self, key: str, window: int) -> None:
        now = time.monotonic()
        ends, failures = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, failures = now + window, 0
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        self._windows[key] = (ends, failures + 1)

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)


class LoginLimiter:
    """Counts failed logins; `retry_after` says how long a key must wait, if it must."""

    def __init__(
        self,
        *,
        per_account: int,
        per_address: int,
        window: int,
        redis_url: str | None,
        key_prefix: str,
    ) -> None:
        self._limits = {"account": per_account, "address": per_address}
        self._prefix = key_prefix
        self._window = window
        self._memory = _MemoryCounter()
        self._redis = (
            Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
            if redis_url
            else None
        )

    def _keys(self, email: str, address: str | None) -> dict[str, str]:
        keys = {"account": f"{self._prefix}:account:{email.lower()}"}
        if address:
            keys["address"] = f"{self._prefix}:address:{address}"
        return keys

    async def retry_after(self, email: str, address: str | None) -> int | None:
        """Seconds to wait if the account or the address has used up its failures."""
        for kind, key in self._keys(email, address).items():
            failures, left = await self._count(key)
            if failures >= self._limits[kind]:
                return max(left, 1)
        return None

    async def failed(self, email: str, address: str | None) -> None:
        for key in self._keys(email, address).values():
            await self._add(key)

    async def succeeded(self, email: str) -> None:
        key = self._keys(email, None)["account"]
        self._memory.reset(key)
        if self._redis is not None:
            try:
                await self._redis.delete(key)
            except (RedisError, OSError):
                log.warning("login limiter: Redis unavailable, counting in process")

    async def _count(self, key: str) -> tuple[int, int]:
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.get(key)
                    pipe.ttl(key)
                    value, ttl = await pipe.execute()
                return int(value or 0), max(int(ttl), 0)
            except (RedisError, OSError):
                log.warning("login limiter: Redis unavailable, counting in process")
        return self._memory.count(key)

    async def _add(self, key: str) -> None:
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, self._window, nx=True)
                    await pipe.execute()
                return
            except (RedisError, OSError):
                log.warning("login limiter: Redis unavailable, counting in process")
        self._memory.add(key, self._window)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
