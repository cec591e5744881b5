"""A read-through cache for reads (lists, one user), dropped whenever any mutation commits.

Admin tables are read far more often than they change, so a page of users, the roles, the
permissions, a role's menu or one user is answered from memory until the next successful
mutation, on any instance (the bus carries the drop). A
generation counter keeps a query that raced a mutation from storing its stale answer, and
concurrent misses for one key share a single load: after a change, fifty open tables asking
for the same page cost one query, not fifty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from pydantic_core import to_json

MAX_ENTRIES = 512

T = TypeVar("T")


class SerialisedList(list[T]):
    """A cached answer that carries its own JSON, made once when it is cached.

    Serialising 50 models is the costliest step of a cached read, so every hit after the
    first reuses these bytes (`web.envelope.ok` splices them into the envelope).
    """

    __slots__ = ("json",)

    def __init__(self, items: Iterable[T]) -> None:
        super().__init__(items)
        self.json = to_json(self, by_alias=True)


class ReadCache:
    """Answers keyed by query; `clear()` after every committed change."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, Any] = {}
        self._loading: dict[Hashable, asyncio.Future[Any]] = {}
        self._generation = 0

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        if key in self._entries:
            return self._entries[key]
        pending = self._loading.get(key)
        if pending is not None:
            # wait() leaves the shared load running if this caller is cancelled
            await asyncio.wait((pending,))
            if not pending.cancelled():
                return pending.result()  # the shared answer, or the shared load's error
        return await self._load(key, load)

    async def get_or_load_if(
        self, plain: bool, key: Hashable, load: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Through the cache for a list's plain form only: its searched, filtered or sorted
        forms are too varied to be worth keeping, so they load afresh."""
        return await self.get_or_load(key, load) if plain else await load()

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        generation = self._generation
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()  # waiters load for themselves
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # marked retrieved: no "never retrieved" log without waiters
            raise
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        future.set_result(value)
        if generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value
        return value

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        # Loads already running may have read the old data: later callers start afresh.
        self._loading.clear()
