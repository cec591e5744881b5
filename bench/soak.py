"""Opt-in phases: the soak (`--only s`) and the sustained rate (`--only t`).

Both send mutations open-loop (on a clock, not one after the other), as users do, so a server
that falls behind shows it as latency and loss instead of slowing the generator down.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.servers import Server, cpu_seconds, rss_kib
from bench.sockets import Client, Swarm, percentile

SOAK_SOCKETS = 200
CHURN_EVERY = 10.0  # seconds
CHURN_SHARE = 1 / 3
REQUESTS_PER_S = 60.0
MUTATIONS_PER_S = 16.0
MUTATED_USERS = 10
IN_FLIGHT = 256  # requests the generator lets wait at once; beyond it they are counted skipped
EXPECT_WITHIN = 2.0  # a client closed this soon after a mutation is not owed its event
RSS_EVERY = 60.0  # one sample per instance per minute
SLOPE_WINDOW = 1200.0  # the RSS slope is fitted over the last 20 minutes

SUSTAINED_SOCKETS = 1000
SUSTAINED_RATES = (2, 4, 8, 12, 16, 24, 32, 48, 64)
SUSTAINED_STEP = 6.0  # seconds of mutations per rate
SUSTAINED_P99_MS = 250.0
SUSTAINED_GIVE_UP_MS = 2000.0  # past this p99 (or any loss) the server is saturated: stop


class Ledger:
    """Send times and first receipts of the run's `data:changed` events.

    Receipts are kept per mutation as one byte per client (not a set) because a long soak sends
    thousands of mutations to thousands of short-lived clients."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.sent: list[float] = []
        self.seen: list[bytearray] = []
        self.latencies = array("d")
        self.late: list[float] = []  # per mutation, the last receipt's lateness (s)
        self.duplicated = 0

    def start(self, clients: int) -> tuple[int, str]:
        """A new mutation: its number and the `full_name` that marks its event."""
        number = len(self.sent)
        self.sent.append(time.perf_counter())
        self.seen.append(bytearray(clients))
        self.late.append(0.0)
        return number, f"{self.marker}{number}"

    def record(self, client: int, payload: Any, at: float) -> None:
        data = payload.get("data") if isinstance(payload, dict) else None
        name = data.get("full_name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name.startswith(self.marker):
            return
        number = int(name[len(self.marker) :])
        seen = self.seen[number]
        if client >= len(seen):
            return  # connected after the mutation was sent: not owed it
        if seen[client]:
            self.duplicated += 1
            return
        seen[client] = 1
        lateness = at - self.sent[number]
        self.latencies.append(lateness)
        self.late[number] = max(self.late[number], lateness)


@dataclass
class Lifetimes:
    opened: dict[int, float] = field(default_factory=dict)
    closed: dict[int, float] = field(default_factory=dict)

    def owed(self, client: int, sent: float) -> bool:
        closed = self.closed.get(client, math.inf)
        return self.opened[client] < sent and closed > sent + EXPECT_WITHIN


def lost(ledger: Ledger, lifetimes: Lifetimes, numbers: range) -> int:
    missing = 0
    for number in numbers:
        sent, seen = ledger.sent[number], ledger.seen[number]
        missing += sum(
            1
            for client in range(len(seen))
            if not seen[client] and client in lifetimes.opened and lifetimes.owed(client, sent)
        )
    return missing


@dataclass
class Traffic:
    """Open-loop HTTP traffic: counts of what was sent, answered, failed or skipped."""

    http: aiohttp.ClientSession
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(IN_FLIGHT))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    done: int = 0
    errors: int = 0
    skipped: int = 0
    http_ms: list[float] = field(default_factory=list)

    def fire(self, method: str, url: str, **kwargs: Any) -> None:
        if self.gate.locked():
            self.skipped += 1
            return
        task = asyncio.create_task(self._one(method, url, kwargs))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _one(self, method: str, url: str, kwargs: dict[str, Any]) -> None:
        async with self.gate:
            started = time.perf_counter()
            try:
                async with self.http.request(method, url, **kwargs) as response:
                    await response.read()
                    if response.status >= 400:
                        self.errors += 1
            except (aiohttp.ClientError, TimeoutError):
                self.errors += 1
            self.done += 1
            self.http_ms.append(1000 * (time.perf_counter() - started))

    async def drain(self) -> None:
        """Wait up to 30 s for the requests still in flight."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=30)


async def _every(period: float, until: float, action: Callable[[], Awaitable[None] | None]) -> None:
    """Call `action` every `period` seconds until `until` (perf_counter), without drift."""
    tick = time.perf_counter()
    while tick < until:
        result = action()
        if result is not None:
            await result
        tick += period
        await asyncio.sleep(max(0.0, tick - time.perf_counter()))


@dataclass(frozen=True)
class SoakResult:
    seconds: float
    mutations: int
    deliveries: int
    lost: int
    duplicated: int
    p50_ms: float
    p99_ms: float
    max_late_s: float
    late_minute: list[float]  # worst lateness of each minute's mutations (s)
    requests: int
    errors: int
    skipped: int
    http_p99_ms: float
    rss_mib: list[list[tuple[float, float]]]  # per instance: (seconds since start, MiB)
    server_cpu_pct: float
    generator_cpu_pct: float  # this process: websockets and HTTP
    logout_close_s: float | None  # None: still open after the wait
    sockets_opened: int


def rss_slope(samples: list[tuple[float, float]], window: float = SLOPE_WINDOW) -> float:
    """MiB per hour, the least-squares slope of the samples in the last `window` seconds: a
    leak shows as a slope that stays positive once the caches have warmed."""
    if not samples:
        return math.nan
    recent = [(at, mib) for at, mib in samples if at >= samples[-1][0] - window]
    if len(recent) < 2:
        return math.nan
    mean_t = sum(at for at, _ in recent) / len(recent)
    mean_m = sum(mib for _, mib in recent) / len(recent)
    spread = sum((at - mean_t) ** 2 for at, _ in recent)
    if spread == 0:
        return math.nan
    slope = sum((at - mean_t) * (mib - mean_m) for at, mib in recent) / spread
    return slope * 3600


async def soak(
    servers: list[Server],
    *,
    token: str,
    user_ids: list[int],
    tab_credentials: tuple[str, str],
    seconds: float,
    run_id: str,
) -> SoakResult:
    """200 sockets spread over the instances, a third replaced every 10 s; ~60 requests/s,
    ~16 of them mutations, each to an instance picked at random."""
    server = servers[0]
    urls = [each.url for each in servers]
    ledger = Ledger(f"soak {run_id} #")
    lifetimes = Lifetimes()
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(run_id)
    rss: list[list[tuple[float, float]]] = [[] for _ in servers]
    logout_close: list[float | None] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        swarm = Swarm(session)
        traffic = Traffic(session)
        await swarm.connect(urls, token, SOAK_SOCKETS)
        for client in swarm.clients:
            lifetimes.opened[client.index] = client.connected_at
        swarm.arrivals = ledger
        started = time.perf_counter()
        until = started + seconds
        cpu_before = sum(cpu_seconds(each) for each in servers)
        own_before = time.process_time()

        def named(client: Client | None) -> dict[str, str]:
            return {**headers, "X-Socket-ID": client.sid} if client else headers

        def request() -> None:
            api = f"{rng.choice(urls)}/api/v1"
            tab = rng.choice(swarm.clients) if swarm.clients else None
            if rng.random() < MUTATIONS_PER_S / REQUESTS_PER_S:
                _, name = ledger.start(swarm.issued)
                user = rng.choice(user_ids)
                body = {"full_name": name}
                traffic.fire("PUT", f"{api}/users/{user}", json=body, headers=named(tab))
            else:
                traffic.fire("GET", f"{api}/users?limit=50", headers=named(tab))

        async def churn() -> None:
            if time.perf_counter() - started < 1:
                return  # the first tick is the start itself
            leaving = rng.sample(swarm.clients, int(SOAK_SOCKETS * CHURN_SHARE))
            now = time.perf_counter()
            for client in leaving:
                lifetimes.closed[client.index] = now
            await swarm.drop(leaving)
            before = len(swarm.clients)
            await swarm.connect(urls, token, len(leaving))
            for client in swarm.clients[before:]:
                lifetimes.opened[client.index] = client.connected_at

        def sample_rss() -> None:
            at = time.perf_counter() - started
            for samples, each in zip(rss, servers, strict=True):
                samples.append((at, rss_kib(each) / 1024))

        async def logout_midway() -> None:
            await asyncio.sleep(seconds / 2)
            logout_close.append(await _logout_close(session, server, tab_credentials))

        await asyncio.gather(
            _every(1 / REQUESTS_PER_S, until, request),
            _every(CHURN_EVERY, until, churn),
            _every(RSS_EVERY, until, sample_rss),
            logout_midway(),
        )
        await traffic.drain()
        # Events still on their way: wait while receipts keep coming, up to a minute.
        count, quiet_since = len(ledger.latencies), time.perf_counter()
        while time.perf_counter() - quiet_since < 3 and time.perf_counter() < until + 60:
            await asyncio.sleep(0.5)
            if len(ledger.latencies) != count:
                count, quiet_since = len(ledger.latencies), time.perf_counter()
        sample_rss()
        elapsed = time.perf_counter() - started
        server_cpu = sum(cpu_seconds(each) for each in servers) - cpu_before
        own_cpu = time.process_time() - own_before
        swarm.arrivals = None
        await swarm.close()

    latencies = list(ledger.latencies)
    minute: dict[int, float] = {}
    for number, sent in enumerate(ledger.sent):
        key = int((sent - started) // 60)
        minute[key] = max(minute.get(key, 0.0), ledger.late[number])
    return SoakResult(
        seconds=elapsed,
        mutations=len(ledger.sent),
        deliveries=len(latencies),
        lost=lost(ledger, lifetimes, range(len(ledger.sent))),
        duplicated=ledger.duplicated,
        p50_ms=1000 * percentile(latencies, 50),
        p99_ms=1000 * percentile(latencies, 99),
        max_late_s=max(latencies, default=math.nan),
        late_minute=[minute[key] for key in sorted(minute)],
        requests=traffic.done,
        errors=traffic.errors,
        skipped=traffic.skipped,
        http_p99_ms=percentile(traffic.http_ms, 99),
        rss_mib=rss,
        server_cpu_pct=100 * server_cpu / elapsed,
        generator_cpu_pct=100 * own_cpu / elapsed,
        logout_close_s=logout_close[0] if logout_close else None,
        sockets_opened=len(lifetimes.opened),
    )


async def _logout_close(
    session: aiohttp.ClientSession, server: Server, credentials: tuple[str, str]
) -> float | None:
    """Seconds from `POST /auth/logout` to the server closing that session's open tab."""
    email, password = credentials
    api = f"{server.url}/api/v1"
    async with session.post(
        f"{api}/auth/login", json={"email": email, "password": password}
    ) as response:
        token = str((await response.json())["data"]["token"])
    tab = Swarm(session)
    await tab.connect([server.url], token, 1)
    reader = tab.clients[0].reader
    assert reader is not None
    started = time.perf_counter()
    async with session.post(
        f"{api}/auth/logout", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        await response.read()
    try:
        await asyncio.wait_for(asyncio.shield(reader), 60)
        return time.perf_counter() - started
    except TimeoutError:
        return None
    finally:
        await tab.close()


# -- sustained -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    rate: int
    mutations: int
    p99_ms: float
    lost: int
    server_cpu_pct: float
    client_cpu_pct: float
    server_cpu_ms: float  # per mutation

    @property
    def held(self) -> bool:
        return self.lost == 0 and self.p99_ms < SUSTAINED_P99_MS

    @property
    def saturated(self) -> bool:
        return self.lost > 0 or self.p99_ms >= SUSTAINED_GIVE_UP_MS


async def sustained(server: Server, *, token: str, user_id: int, run_id: str) -> list[Step]:
    """1,000 sockets; mutations at each rate in turn for 6 s, until one loses an event or its
    p99 reaches 2 s. A rate is held when its p99 is under 250 ms with nothing lost; on a busy
    machine an early rate can miss that by scheduling noise while a later one holds, hence
    not stopping at the first miss."""
    steps: list[Step] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        swarm = Swarm(session)
        try:
            await swarm.connect([server.url], token, SUSTAINED_SOCKETS)
            await asyncio.sleep(1.0)
            lifetimes = Lifetimes({client.index: client.connected_at for client in swarm.clients})
            url = f"{server.url}/api/v1/users/{user_id}"
            headers = {"Authorization": f"Bearer {token}", "X-Socket-ID": swarm.clients[0].sid}
            for rate in SUSTAINED_RATES:
                ledger = Ledger(f"sustained {run_id} {rate}/s #")
                swarm.arrivals = ledger
                traffic = Traffic(session)

                def mutate(ledger: Ledger = ledger, traffic: Traffic = traffic) -> None:
                    _, name = ledger.start(SUSTAINED_SOCKETS)
                    traffic.fire("PUT", url, json={"full_name": name}, headers=headers)

                server_cpu, client_cpu = cpu_seconds(server), time.process_time()
                started = time.perf_counter()
                await _every(1 / rate, started + SUSTAINED_STEP, mutate)
                await traffic.drain()
                await asyncio.sleep(2.0)
                elapsed = time.perf_counter() - started
                swarm.arrivals = None
                latencies = list(ledger.latencies)
                used = cpu_seconds(server) - server_cpu
                step = Step(
                    rate=rate,
                    mutations=len(ledger.sent),
                    p99_ms=1000 * percentile(latencies, 99),
                    lost=lost(ledger, lifetimes, range(len(ledger.sent))) + traffic.errors,
                    server_cpu_pct=100 * used / elapsed,
                    client_cpu_pct=100 * (time.process_time() - client_cpu) / elapsed,
                    server_cpu_ms=1000 * used / max(1, len(ledger.sent)),
                )
                steps.append(step)
                if step.saturated:
                    break
                await asyncio.sleep(1.0)
        finally:
            await swarm.close()
    return steps
