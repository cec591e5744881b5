"""LeanQueue stands in for asyncio.Queue under python-engineio and uvicorn: it must behave as
asyncio.Queue does for every call they make, and hold no waiter lists or items it no longer
needs."""

from __future__ import annotations

import asyncio
import random
import re
import sys
from pathlib import Path

import pytest
from engineio import async_server, async_socket
from uvicorn.protocols.websockets import websockets_sansio_impl

from seam_api.runtime import engineio_writer
from seam_api.runtime.lean_queue import LeanQueue

CALLERS = [async_socket, async_server, websockets_sansio_impl, engineio_writer]


def test_it_has_every_queue_method_the_libraries_call() -> None:
    called: set[str] = set()
    for module in CALLERS:
        source = Path(module.__file__ or "").read_text()
        called |= set(re.findall(r"queue\.(\w+)\(", source))
    assert called >= {"put", "put_nowait", "get", "get_nowait", "task_done", "join", "empty"}
    assert {name for name in called if not hasattr(LeanQueue, name)} == set()


async def test_a_random_run_of_calls_matches_asyncio_queue() -> None:
    rng = random.Random(7)
    lean: LeanQueue[int] = LeanQueue()
    stock: asyncio.Queue[int] = asyncio.Queue()
    taken = 0
    for step in range(5000):
        roll = rng.random()
        if roll < 0.45:
            lean.put_nowait(step)
            await stock.put(step)
        elif roll < 0.9:
            if stock.empty():
                with pytest.raises(asyncio.QueueEmpty):
                    lean.get_nowait()
            else:
                assert lean.get_nowait() == stock.get_nowait()
                taken += 1
        elif taken:
            lean.task_done()
            stock.task_done()
            taken -= 1
        assert (lean.qsize(), lean.empty()) == (stock.qsize(), stock.empty())
        assert lean._unfinished == stock._unfinished_tasks


async def test_get_waits_for_the_next_item_and_getters_are_served_in_order() -> None:
    queue: LeanQueue[str] = LeanQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not first.done() and not second.done()
    queue.put_nowait("a")
    queue.put_nowait("b")
    assert await first == "a"
    assert await second == "b"


async def test_a_cancelled_get_takes_nothing() -> None:
    queue: LeanQueue[str] = LeanQueue()
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    queue.put_nowait("kept")
    assert queue.get_nowait() == "kept"
    assert queue._getters == []


async def test_a_getter_woken_then_cancelled_passes_the_item_to_the_next() -> None:
    queue: LeanQueue[str] = LeanQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) == "only"


async def test_join_waits_until_every_item_is_done() -> None:
    queue: LeanQueue[int] = LeanQueue()
    await asyncio.wait_for(queue.join(), 1)  # nothing unfinished: returns at once
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.ensure_future(queue.join())
    queue.get_nowait()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    assert queue._joiners is None


def test_task_done_more_often_than_items_is_an_error_as_in_asyncio() -> None:
    queue: LeanQueue[int] = LeanQueue()
    with pytest.raises(ValueError, match="too many times"):
        queue.task_done()


def test_items_handed_out_are_no_longer_held_and_a_long_run_stays_small() -> None:
    queue: LeanQueue[object] = LeanQueue()
    item = object()
    queue.put_nowait(item)
    queue.put_nowait(object())
    held = sys.getrefcount(item)
    assert queue.get_nowait() is item
    assert sys.getrefcount(item) == held - 1
    # Never drained, yet taken from all along: the consumed head is dropped as it goes.
    for n in range(10_000):
        queue.put_nowait(n)
        queue.get_nowait()
    assert queue.qsize() == 1
    assert len(queue._items) < 200


def test_an_idle_queue_makes_no_waiter_lists() -> None:
    queue: LeanQueue[int] = LeanQueue()
    assert (queue._getters, queue._joiners) == (None, None)
    assert sys.getsizeof(queue) + sys.getsizeof(queue._items) < 200
