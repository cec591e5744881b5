"""A read-through cache for list queries, dropped whenever any mutation commits.

Admin tables are read far more often than they change, so a page of users is answered from
memory until the next successful mutation, on any instance (the bus carries the drop). A
generation counter keeps a query that raced a mutation from storing its stale answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any

MAX_ENTRIES = 512


class ReadCache:
    """Answers keyed by query; `clear()` after every committed change."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, Any] = {}
        self._generation = 0

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        if key in self._entries:
            return self._entries[key]
        generation = self._generation
        value = await load()
        if generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value
        return value

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
