"""Cross-instance notices (cache invalidation, session revocation) over Redis pub/sub.

Without Redis the bus is in-process: a notice is handled at once, here. With Redis each notice
is handled here first, then published; other instances handle it when it arrives. A subscriber
that lost Redis may have missed notices, so on every re-subscribe it runs the `resync` handlers
(which drop every cache) before trusting its memory again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from seam_api.core.outages import REDIS

log = logging.getLogger(__name__)

Notice = dict[str, Any]
NoticeHandler = Callable[[Notice], Awaitable[None]]
ResyncHandler = Callable[[], Awaitable[None]]


class Bus:
    """Publish a notice to every instance, this one included."""

    def __init__(self, redis_url: str | None, *, channel: str) -> None:
        # A short connect timeout: a request that publishes must not hang on a dead Redis.
        self._redis = Redis.from_url(redis_url, socket_connect_timeout=1) if redis_url else None
        self._channel = channel
        self._origin = uuid.uuid4().hex
        self._handlers: list[NoticeHandler] = []
        self._resync: list[ResyncHandler] = []
        self._listener: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def on_notice(self, handler: NoticeHandler) -> None:
        self._handlers.append(handler)

    def on_resync(self, handler: ResyncHandler) -> None:
        self._resync.append(handler)

    async def publish(self, notice: Notice) -> None:
        """Handle here, then tell the others; a Redis failure is logged, never raised."""
        await self._handle(notice)
        if self._redis is None:
            return
        try:
            message = orjson.dumps({"origin": self._origin, **notice})
            await self._redis.publish(self._channel, message)
            REDIS.up()
        except (RedisError, OSError) as error:  # other instances resync when it returns
            REDIS.down("notices", error)

    async def start(self) -> None:
        if self._redis is not None and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="seam-bus")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._redis is not None:
            await self._redis.aclose()

    async def _handle(self, notice: Notice) -> None:
        for handler in self._handlers:
            try:
                await handler(notice)
            except Exception:
                log.exception("bus handler failed for %s", notice.get("kind"))

    async def _listen(self) -> None:
        assert self._redis is not None
        first = True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                if not first:
                    for resync in self._resync:
                        await resync()
                first = False
                REDIS.up()
                self.subscribed.set()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    notice = orjson.loads(message["data"])
                    if notice.pop("origin", None) != self._origin:
                        notice["remote"] = True
                        await self._handle(notice)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.subscribed.clear()
                if isinstance(error, (RedisError, OSError)):
                    REDIS.down("notices", error)
                else:
                    log.warning("bus listener failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
