"""A FIFO for one connection's messages that costs ~0.2 KiB where `asyncio.Queue` costs 3 KiB.

Every open websocket holds two queues: python-engineio's packets waiting for the socket's writer,
and uvicorn's received messages waiting for the application. `asyncio.Queue` allocates three
deques and an `Event` (a fourth deque) when it is made, 760 bytes each even empty, so 1,000 idle
sockets held 6 MiB of empty deques (bench/README.md, "Memory per socket"). No library offers a
lighter asyncio queue; this one keeps `asyncio.Queue`'s behaviour for what those two callers use
(`put`, `put_nowait`, `get`, `get_nowait`, `task_done`, `join`, `qsize`, `empty`), unbounded:
first in first out, `get` waits for an item, a cancelled `get` takes nothing, `join` waits
until every item taken has been marked done. Waiter lists are made only when someone waits.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")

# Consumed slots at the head are dropped once they are this many and half the list.
_COMPACT_AT = 64


class LeanQueue(Generic[T]):
    """An unbounded `asyncio.Queue` without the up-front deques (see the module)."""

    __slots__ = ("_getters", "_head", "_items", "_joiners", "_unfinished")

    def __init__(self) -> None:
        self._items: list[T | None] = []
        self._head = 0  # index of the next item in `_items`
        self._getters: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self._joiners: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return len(self._items) - self._head

    def empty(self) -> bool:
        return len(self._items) == self._head

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._unfinished += 1
        if self._getters:
            _wake_first(self._getters)

    async def put(self, item: T) -> None:
        """Never waits (the queue is unbounded), like `asyncio.Queue.put` without a maxsize."""
        self.put_nowait(item)

    def get_nowait(self) -> T:
        items, head = self._items, self._head
        if head == len(items):
            raise asyncio.QueueEmpty
        item = items[head]
        items[head] = None  # the queue stops holding what it handed out
        head += 1
        if head == len(items):
            items.clear()
            head = 0
        elif head >= _COMPACT_AT and 2 * head >= len(items):
            del items[:head]
            head = 0
        self._head = head
        return item  # type: ignore[return-value]

    async def get(self) -> T:
        while self.empty():
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if getter in self._getters:
                    self._getters.remove(getter)
                # Woken, then cancelled before it ran: the wake goes to the next getter.
                if not self.empty() and not getter.cancelled():
                    _wake_first(self._getters)
                raise
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners is not None:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished > 0:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner


def _wake_first(waiters: list[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return
