"""Many Socket.IO clients in one asyncio process, speaking just enough of the protocol.

Each client is a bare aiohttp websocket on `/socket.io/?EIO=4&transport=websocket`:
Engine.IO open `0{...}`, Socket.IO connect `40{"token": ...}` answered by `40{"sid": ...}`,
pings `2` answered with `3` (and websocket PING frames with PONG), events
`42["name", payload]`; `41` (disconnect) ends the client. No polling, no upgrade, no acks:
that is all a connected dashboard tab does while it listens, and it costs a fraction of a
full client, so one process can hold a thousand of them without starving the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson

CONNECT_CONCURRENCY = 50


@dataclass
class Client:
    index: int
    ws: aiohttp.ClientWebSocketResponse
    sid: str
    connected_at: float = 0.0  # perf_counter when the CONNECT reply came
    reader: asyncio.Task[None] | None = None
    progress_events: int = 0


class Recorder(Protocol):
    def record(self, client: int, payload: Any, at: float) -> None: ...


@dataclass
class Arrivals:
    """Receipt times of the bench's own `data:changed` events, keyed by mutation number."""

    marker: str
    expected_clients: int
    times: dict[int, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    waiters: dict[int, asyncio.Event] = field(default_factory=dict)
    foreign: Counter[str] = field(default_factory=Counter)

    def record(self, client: int, payload: Any, at: float) -> None:
        data = payload.get("data") if isinstance(payload, dict) else None
        name = data.get("full_name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name.startswith(self.marker):
            operation = payload.get("operation") if isinstance(payload, dict) else None
            self.foreign[f"{operation}{'' if data else ' (data null)'}"] += 1
            return
        number = int(name[len(self.marker) :])
        arrivals = self.times[number]
        arrivals.append((client, at))
        waiter = self.waiters.get(number)
        if waiter is not None and len(arrivals) >= self.expected_clients:
            waiter.set()


class Swarm:
    """N websocket clients spread over one or more servers."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.clients: list[Client] = []
        self.arrivals: Recorder | None = None
        self._next_index = 0

    @property
    def issued(self) -> int:
        """Client indices handed out so far (closed clients included)."""
        return self._next_index

    async def connect(self, urls: list[str], token: str, count: int) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(index: int) -> Client:
            async with gate:
                return await self._connect_one(index, urls[index % len(urls)], token)

        start, self._next_index = self._next_index, self._next_index + count
        self.clients += await asyncio.gather(*(one(start + i) for i in range(count)))

    async def _connect_one(self, index: int, base_url: str, token: str) -> Client:
        url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        ws = await self.session.ws_connect(url, autoping=False, max_msg_size=0)
        opening = await ws.receive_str(timeout=30)
        if not opening.startswith("0"):
            raise RuntimeError(f"unexpected Engine.IO open: {opening[:80]}")
        await ws.send_str("40" + orjson.dumps({"token": token}).decode())
        while True:
            message = await ws.receive_str(timeout=30)
            if message == "2":
                await ws.send_str("3")
            elif message.startswith("40"):
                sid = str(orjson.loads(message[2:])["sid"])
                break
            elif message.startswith("44"):
                raise RuntimeError(f"Socket.IO connect refused: {message[2:]}")
        client = Client(index=index, ws=ws, sid=sid, connected_at=time.perf_counter())
        client.reader = asyncio.create_task(self._read(client))
        return client

    async def _read(self, client: Client) -> None:
        ws = client.ws
        async for message in ws:
            if message.type == aiohttp.WSMsgType.PING:
                # uvicorn pings every websocket each 20 s and closes it unanswered.
                await ws.pong(message.data)
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            text: str = message.data
            if text == "2":
                await ws.send_str("3")
            elif text.startswith(("41", "1")):
                break  # the server disconnected this tab (Socket.IO `41`, Engine.IO `1`)
            elif text.startswith("42"):
                at = time.perf_counter()
                name, payload = orjson.loads(text[2:])[:2]
                if name == "data:changed" and self.arrivals is not None:
                    self.arrivals.record(client.index, payload, at)
                elif name == "operation:progress":
                    client.progress_events += 1

    async def drop(self, clients: list[Client]) -> None:
        """Close these clients (a tab closed) and forget them."""
        gone = {client.index for client in clients}
        self.clients = [client for client in self.clients if client.index not in gone]

        async def one(client: Client) -> None:
            with contextlib.suppress(Exception):
                await client.ws.close()
            if client.reader is not None:
                client.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await client.reader

        await asyncio.gather(*(one(client) for client in clients))

    async def close(self) -> None:
        await self.drop(list(self.clients))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class DeliveryResult:
    clients: int
    mutations: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    lost: int
    duplicated: int
    http_p50_ms: float
    foreign: dict[str, int]


async def measure_delivery(
    swarm: Swarm,
    http: aiohttp.ClientSession,
    *,
    mutate_url: str,
    token: str,
    user_id: int,
    mutations: int,
    run_id: str,
    spacing: float = 0.2,
    wait: float = 5.0,
    grace: float = 2.0,
) -> DeliveryResult:
    """Send `mutations` user edits, one at a time, and time each `data:changed` receipt.

    The initiator names the first client in X-Socket-ID (so its progress events go to that
    socket only, as from a browser tab); every client, that one included, must get each
    `data:changed` exactly once.
    """
    marker = f"bench {run_id} #"
    arrivals = Arrivals(marker=marker, expected_clients=len(swarm.clients))
    with _no_collections():
        return await _measure(
            swarm, http, arrivals, mutate_url, token, user_id, mutations, spacing, wait, grace
        )


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """No garbage collection in this process while it times deliveries.

    With a thousand clients' objects in its heap, a full collection here takes 50-90 ms, and
    whichever server was being measured got charged for it: one such pause in 20 mutations
    set the p99 (seen: 29-34 ms without one, 101-119 ms with one, same server). The clients'
    objects are moved out of the collector's view first; what the measurement allocates is
    freed by reference counting or collected afterwards.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def _measure(
    swarm: Swarm,
    http: aiohttp.ClientSession,
    arrivals: Arrivals,
    mutate_url: str,
    token: str,
    user_id: int,
    mutations: int,
    spacing: float,
    wait: float,
    grace: float,
) -> DeliveryResult:
    marker = arrivals.marker
    swarm.arrivals = arrivals
    sent: dict[int, float] = {}
    http_ms: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "X-Socket-ID": swarm.clients[0].sid}
    for number in range(mutations):
        arrivals.waiters[number] = waiter = asyncio.Event()
        sent[number] = started = time.perf_counter()
        async with http.put(
            f"{mutate_url}/api/v1/users/{user_id}",
            json={"full_name": f"{marker}{number}"},
            headers=headers,
        ) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"mutation failed: {response.status} {await response.text()}")
        http_ms.append((time.perf_counter() - started) * 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), wait)
        await asyncio.sleep(spacing)
    await asyncio.sleep(grace)
    swarm.arrivals = None

    latencies: list[float] = []
    lost = duplicated = 0
    for number in range(mutations):
        seen: dict[int, float] = {}
        for client, at in arrivals.times.get(number, []):
            if client in seen:
                duplicated += 1
            else:
                seen[client] = at
        lost += len(swarm.clients) - len(seen)
        latencies += [(at - sent[number]) * 1000 for at in seen.values()]
    return DeliveryResult(
        clients=len(swarm.clients),
        mutations=mutations,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=math.nan),
        lost=lost,
        duplicated=duplicated,
        http_p50_ms=percentile(http_ms, 50),
        foreign=dict(arrivals.foreign),
    )
