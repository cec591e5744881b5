"""`python -m bench`: start real servers, load them, print one Markdown table.

Phases: (a) reads on SQLite and PostgreSQL, then raw ASGI, (b) logins against the Argon2id
ceiling, (c) `data:changed` delivery to 100 and 1,000 sockets, then bare Node Socket.IO,
(d) memory per idle socket, (e) delivery across two instances sharing PostgreSQL and Redis,
(f) ratios to the references, (p) every route of the contract's sections 4 and 6 beside
PocketBase's nearest equivalent, (l) the users list searched and sorted among 100,000 users,
(r) replay, (t) the sustained rate beside Node's, (s) the
soak. A phase whose service or tool is missing is reported as skipped; missed targets are
printed, never failed on.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import platform
import resource
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import orjson

from bench import lists, loadgen, pocketbase, profiling, replay, routes, servers, soak
from bench.servers import ADMIN_EMAIL, ADMIN_PASSWORD, Server
from bench.sockets import DeliveryResult, Swarm, measure_delivery
from seam_api.security.credentials import MAX_HASHES_IN_FLIGHT, PASSWORD_HASHER

SEED_USERS = 60
READ_CONNECTIONS = 50
# No more than the server hashes at once: beyond that it answers 429 instead of queueing.
LOGIN_CONNECTIONS = MAX_HASHES_IN_FLIGHT
HASH_THREADS = 2
MEMORY_CLIENTS = 1000
WARM_UP_MUTATIONS = 3

WRK = "wrk, 1 thread, Lua `done` hook"
SWARM = "1 asyncio process, raw aiohttp websockets"
SOAK_GENERATOR = "1 asyncio process: raw aiohttp websockets + aiohttp HTTP"
IN_PROCESS = "bench process, 2 threads"
FOREIGN_NOTE = (
    "(e) clients also received events of another SEAM deployment using the same Redis prefix "
    "and database index, so its load and events were part of this measurement."
)


@dataclass
class Row:
    metric: str
    setup: str
    measured: str
    target: str
    met: bool | None
    generator: str
    order: int = 0  # within one letter: rows print in (letter, order, insertion) order


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    # Figures the ratio rows (f) divide: "reads", "reads-tab", "raw", ("cpu"|"p99"|"kib", who).
    values: dict[object, float] = field(default_factory=dict)
    samples: dict[object, list[float]] = field(default_factory=dict)
    routes: list[routes.RouteRow] = field(default_factory=list)

    def measured(self, key: object, value: float) -> None:
        """One more sample of `key`; its value is the mean of its samples."""
        samples = self.samples.setdefault(key, [])
        samples.append(value)
        self.values[key] = sum(samples) / len(samples)

    def markdown(self) -> str:
        lines = [
            "| metric | setup | measured | target | met | generator |",
            "|---|---|---|---|---|---|",
        ]
        for row in sorted(self.rows, key=lambda row: (row.metric[:3], row.order)):
            met = "—" if row.met is None else ("yes" if row.met else "**no**")
            lines.append(
                f"| {row.metric} | {row.setup} | {row.measured} | {row.target} | {met} "
                f"| {row.generator} |"
            )
        return "\n".join(lines)

    def routes_markdown(self) -> str:
        """(p): one line per route and backend, SEAM API beside PocketBase."""
        lines = [
            "| route | backend | c | SEAM req/s | p50 / p99 ms | CPU µs/req "
            "| PocketBase equivalent "
            "| PocketBase req/s | CPU µs/req | ratio |",
            "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for row in self.routes:
            ours, theirs = row.seam, row.pocketbase
            lines.append(
                f"| {row.route} | {row.backend} | {row.connections} | {_rate(ours.result)} "
                f"| {ours.result.p50_ms:.1f} / {ours.result.p99_ms:.1f} | {ours.cpu_us:,.0f} "
                f"| {row.reference or '—'} | {_rate(theirs.result) if theirs else '—'} "
                f"| {f'{theirs.cpu_us:,.0f}' if theirs else '—'} "
                f"| {'—' if row.ratio is None else f'{row.ratio:.2f}x'} |"
            )
        return "\n".join(lines)

    def as_json(self) -> dict[str, object]:
        return {
            "rows": [dataclasses.asdict(row) for row in self.rows],
            "routes": [row.as_json() for row in self.routes],
            "notes": self.notes,
        }


def _rate(result: loadgen.WrkResult) -> str:
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in result.error_kinds.items())
    return f"{result.rate:,.0f}" + (f" (errors: {kinds})" if kinds else "")


@dataclass
class Options:
    duration: int
    mutations: int
    sizes: list[int]
    only: set[str]
    profile: Path | None
    soak_seconds: float = 480.0
    soak_instances: int = 1
    routes: list[str] = field(default_factory=list)  # (p): substrings of the routes to run
    backends: list[str] = field(default_factory=lambda: ["SQLite", "PostgreSQL"])


# -- HTTP helpers ----------------------------------------------------------------------------


async def _login(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(
        f"{url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"admin login failed: {response.status} {body}")
    return str(body["data"]["token"])


async def _seed(url: str, count: int, prefix: str) -> tuple[str, list[int]]:
    """An admin token, and `count` users registered by the admin through the API."""
    async with aiohttp.ClientSession() as http:
        token = await _login(http, url)
        headers = {"Authorization": f"Bearer {token}"}
        gate = asyncio.Semaphore(4)

        async def register(number: int) -> int:
            form = {
                "full_name": f"Bench User {number}",
                "email": f"{prefix}{number}@seam.bench",
                "password": f"bench-password-{number}",
            }
            async with (
                gate,
                http.post(f"{url}/api/v1/auth/register", json=form, headers=headers) as response,
            ):
                body = await response.json()
                if response.status != 201:
                    raise RuntimeError(f"register failed: {response.status} {body}")
                return int(body["data"]["idUser"])

        ids = await asyncio.gather(*(register(n) for n in range(count)))
    return token, list(ids)


def _profiled(options: Options, server: Server, name: str) -> AbstractContextManager[None]:
    """py-spy on the server for the block, when `--profile` asked for it."""
    if options.profile is None:
        return nullcontext()
    return _recording(options.profile, server, name)


@contextmanager
def _recording(directory: Path, server: Server, name: str) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    recording = profiling.Recording(server.pid, directory / f"{name}.txt")
    try:
        yield
    finally:
        recording.stop()


# -- (a) reads, (b) logins -------------------------------------------------------------------


PROGRESS_PER_READ = 3  # start, processing, success

ReadRun = Callable[[dict[str, str]], loadgen.WrkResult]


async def _with_admin_tab(
    server: Server, token: str, run: ReadRun
) -> tuple[loadgen.WrkResult, int]:
    """`run` with the admin's tab open and named in X-Socket-ID: each read then sends its
    progress events to that socket, as for a dashboard. Returns the events the tab received."""
    async with aiohttp.ClientSession() as session:
        swarm = Swarm(session)
        try:
            await swarm.connect([server.url], token, 1)
            tab = swarm.clients[0]
            result = await asyncio.to_thread(run, {"X-Socket-ID": tab.sid})
            await asyncio.sleep(1.0)  # the run's last events on the wire
            return result, tab.progress_events
        finally:
            await swarm.close()


def bench_reads(
    report: Report,
    options: Options,
    server: Server,
    token: str,
    workdir: Path,
    backend: str,
    *,
    tab: bool = False,
) -> None:
    """wrk on the users list; with `tab`, while the admin's socket receives the progress."""
    script = loadgen.get_script(workdir, "reads")
    url = f"{server.url}/api/v1/users?limit=50"
    name = f"reads-{backend.lower()}{'-tab' if tab else ''}"
    cpu_seconds, reads = 0.0, 0

    def run(extra_headers: dict[str, str]) -> loadgen.WrkResult:
        nonlocal cpu_seconds, reads
        headers = {"Authorization": f"Bearer {token}", **extra_headers}
        warm_up = loadgen.run_wrk(
            url, script, connections=READ_CONNECTIONS, seconds=2, headers=headers
        )
        before = servers.cpu_seconds(server)
        with _profiled(options, server, name):
            result = loadgen.run_wrk(
                url, script, connections=READ_CONNECTIONS, seconds=options.duration, headers=headers
            )
        cpu_seconds = servers.cpu_seconds(server) - before
        reads = warm_up.requests + result.requests
        return result

    if tab:
        result, events = asyncio.run(_with_admin_tab(server, token, run))
    else:
        result, events = run({}), 0
    cpu = 100 * cpu_seconds / result.seconds
    if backend == "SQLite":
        report.values["reads-tab" if tab else "reads"] = result.rate
    errors = f", {result.errors} errors" if result.errors else ""
    setup = f"{backend}, 1 instance, c={READ_CONNECTIONS}, {options.duration} s"
    if tab:
        setup += (
            f", admin's tab open and named in X-Socket-ID: it received {events:,} progress "
            f"events for {reads:,} reads with warm-up ({PROGRESS_PER_READ} each expected)"
        )
    report.rows.append(
        Row(
            "(a) `GET /users?limit=50` throughput",
            setup,
            f"{result.rate:,.0f} req/s{errors} (server CPU {cpu:.0f} % of a core)",
            ">= 2,500 req/s",
            result.rate >= 2500,
            WRK,
        )
    )
    report.rows.append(
        Row(
            "(a) `GET /users?limit=50` latency",
            setup,
            f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, max {result.max_ms:.0f} ms",
            "p99 < 50 ms",
            result.p99_ms < 50,
            WRK,
        )
    )
    if options.profile is not None:
        report.profiles.append(
            profiling.markdown(
                f"Server during (a) reads on {backend}", options.profile / f"{name}.txt"
            )
        )


def bench_raw_reads(report: Report, options: Options, url: str, token: str, workdir: Path) -> None:
    """The same wrk run on raw ASGI + orjson serving the 50 rows SEAM API just returned."""
    rows = workdir / "rows.json"
    with httpx.Client() as http:
        answer = http.get(
            f"{url}/api/v1/users?limit=50", headers={"Authorization": f"Bearer {token}"}
        )
    rows.write_bytes(orjson.dumps(answer.json()["data"]))
    script = loadgen.get_script(workdir, "raw")
    with servers.raw_asgi_reference(workdir, rows) as raw:
        target = f"{raw.url}/api/v1/users?limit=50"
        headers = {"Authorization": f"Bearer {token}"}
        loadgen.run_wrk(target, script, connections=READ_CONNECTIONS, seconds=2, headers=headers)
        before = servers.cpu_seconds(raw)
        result = loadgen.run_wrk(
            target, script, connections=READ_CONNECTIONS, seconds=options.duration, headers=headers
        )
        cpu = 100 * (servers.cpu_seconds(raw) - before) / result.seconds
    report.values["raw"] = result.rate
    errors = f", {result.errors} errors" if result.errors else ""
    report.rows.append(
        Row(
            "(a) reference: raw ASGI + orjson, same list",
            f"same uvicorn settings, c={READ_CONNECTIONS}, {options.duration} s, right after",
            f"{result.rate:,.0f} req/s{errors} (server CPU {cpu:.0f} % of a core); "
            f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms",
            "—",
            None,
            WRK,
            order=1,
        )
    )


def hash_ceiling(seconds: float = 4.0, threads: int = HASH_THREADS) -> float:
    """Argon2id verifications (the server's parameters) per second with `threads` threads."""
    hashed = PASSWORD_HASHER.hash("bench-ceiling")

    def spin(deadline: float) -> tuple[int, float]:
        done = 0
        while time.perf_counter() < deadline:
            PASSWORD_HASHER.verify(hashed, "bench-ceiling")
            done += 1
        return done, time.perf_counter()

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(spin, [start + seconds] * threads))
    elapsed = max(end for _, end in results) - start
    return sum(count for count, _ in results) / elapsed


def bench_logins(report: Report, options: Options, server: Server, workdir: Path) -> None:
    script = loadgen.post_json_script(
        workdir, "login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    url = f"{server.url}/api/v1/auth/login"
    # The ceiling is measured right before and right after, so both see similar noise.
    before = hash_ceiling()
    result = loadgen.run_wrk(
        url, script, connections=LOGIN_CONNECTIONS, seconds=options.duration, timeout_s=30
    )
    after = hash_ceiling()
    ceiling = (before + after) / 2
    ratio = result.rate / ceiling
    errors = f", {result.errors} errors" if result.errors else ""
    report.rows += [
        Row(
            "(b) logins, correct password",
            f"SQLite, c={LOGIN_CONNECTIONS}, {options.duration} s",
            f"{result.rate:.1f} logins/s (p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms)"
            + errors,
            "—",
            None,
            WRK,
        ),
        Row(
            "(b) Argon2id ceiling",
            f"`verify`, {HASH_THREADS} threads, 4 s before + 4 s after the logins",
            f"{ceiling:.1f} checks/s ({before:.1f} before, {after:.1f} after)",
            "—",
            None,
            IN_PROCESS,
        ),
        Row("(b) logins / ceiling", "", f"{100 * ratio:.0f} %", ">= 80 %", ratio >= 0.8, ""),
    ]


# -- (c) delivery, (d) memory, (e) cluster ---------------------------------------------------


async def bench_delivery(
    report: Report,
    options: Options,
    targets: list[Server],
    token: str,
    user_id: int,
    *,
    cluster: bool,
    who: str = "seam",
) -> None:
    """Connect each size of swarm (largest first), weigh it once, time mutations to it.

    `who` is "seam"; "plain" for SEAM API with every library override off (runtime/gate.py),
    what a library moving under us would cost; or "node" for the bare Node Socket.IO
    reference. The last two are measured only at 1,000 sockets, right after SEAM API."""
    urls = [server.url for server in targets]
    sizes = sorted(options.sizes, reverse=True)
    if who != "seam":
        sizes = [MEMORY_CLIENTS]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for size in sizes:
            swarm = Swarm(session)
            try:
                await asyncio.sleep(1.0)
                before = servers.rss_kib(targets[0])
                await swarm.connect(urls, token, size)
                if not cluster and "d" in options.only and size == MEMORY_CLIENTS:
                    await asyncio.sleep(2.0)
                    _memory_row(report, size, before, servers.rss_kib(targets[0]), who)
                if "c" not in options.only and not cluster:
                    continue
                # Unmeasured first: Node's JIT and Python's caches warm up on the first events.
                await measure_delivery(
                    swarm,
                    session,
                    mutate_url=urls[0],
                    token=token,
                    user_id=user_id,
                    mutations=WARM_UP_MUTATIONS,
                    run_id=uuid.uuid4().hex[:8],
                    grace=0.5,
                )
                name = f"events-{'cluster' if cluster else who}-{size}"
                profile = not cluster and who == "seam" and size == MEMORY_CLIENTS
                server_cpu = sum(servers.cpu_seconds(server) for server in targets)
                client_cpu = time.process_time()
                with _profiled(options, targets[0], name) if profile else nullcontext():
                    result = await measure_delivery(
                        swarm,
                        session,
                        mutate_url=urls[0],
                        token=token,
                        user_id=user_id,
                        mutations=options.mutations,
                        run_id=uuid.uuid4().hex[:8],
                    )
                client_cpu = time.process_time() - client_cpu
                server_cpu = sum(servers.cpu_seconds(server) for server in targets) - server_cpu
            finally:
                await swarm.close()
            cpu = (server_cpu / result.mutations, client_cpu / result.mutations)
            if not cluster and size == MEMORY_CLIENTS:
                report.measured(("cpu", who), 1000 * cpu[0])
                report.measured(("p99", who), result.p99_ms)
            _delivery_row(report, result, cluster, cpu, who)
            if cluster and result.foreign and FOREIGN_NOTE not in report.notes:
                report.notes.append(FOREIGN_NOTE)
            if profile and options.profile is not None:
                report.profiles.append(
                    profiling.markdown(
                        f"Server during (c) delivery to {size} sockets",
                        options.profile / f"{name}.txt",
                    )
                )


NODE_SETUP = "reference: bare Node Socket.IO 4.8, `io.emit` from the PUT handler"
PLAIN_SETUP = "SQLite, 1 instance, `SEAM_LIBRARY_OVERRIDES=off` (the libraries' own code)"
SETUPS = {"seam": "SQLite, 1 instance", "plain": PLAIN_SETUP, "node": NODE_SETUP}
ORDER = {"seam": 0, "plain": 1, "node": 2}


def _memory_row(report: Report, size: int, before: int, after: int, who: str) -> None:
    per_socket = (after - before) / size
    report.measured(("kib", who), per_socket)
    ours = who == "seam"
    report.rows.append(
        Row(
            "(d) server memory per idle socket",
            f"{SETUPS[who]}, {size:,} websocket clients",
            f"{per_socket:.1f} KiB (RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB)",
            "< 64 KiB" if ours else "—",
            per_socket < 64 if ours else None,
            SWARM,
            order=ORDER[who],
        )
    )


def _delivery_row(
    report: Report, result: DeliveryResult, cluster: bool, cpu: tuple[float, float], who: str
) -> None:
    big = result.clients >= 1000
    node = who != "seam"  # a reference: no target of its own
    met = result.lost == 0 and result.duplicated == 0 and (not big or result.p99_ms < 250)
    if cluster:
        setup = "2 instances, PostgreSQL + Redis, clients split, mutations to one"
    else:
        setup = SETUPS[who]
    letter = "e" if cluster else "c"
    foreign = ", ".join(f"{count} {name}" for name, count in sorted(result.foreign.items()))
    if foreign:
        foreign = f"; not ours, ignored: {foreign}"
    report.rows.append(
        Row(
            f"({letter}) `data:changed` to {result.clients:,} sockets",
            f"{setup}, {result.mutations} mutations",
            f"p50 {result.p50_ms:.1f} / p99 {result.p99_ms:.1f} / max {result.max_ms:.1f} ms; "
            f"lost {result.lost}, dup {result.duplicated}; HTTP p50 {result.http_p50_ms:.0f} ms; "
            f"CPU per mutation: server{'s' if cluster else ''} {1000 * cpu[0]:.1f} ms, "
            f"clients {1000 * cpu[1]:.0f} ms" + foreign,
            "—" if node else ("p99 < 250 ms, 0 lost" if big else "0 lost"),
            None if node else met,
            SWARM,
            order=4 * result.clients + ORDER[who],
        )
    )


def ratio_rows(report: Report) -> None:
    """(f): SEAM API against the references measured in the same run."""
    values = report.values

    def add(
        metric: str,
        ours: object,
        theirs: object,
        bound: float,
        unit: str,
        at_most: bool,
    ) -> None:
        if ours not in values or theirs not in values:
            return
        a, b = values[ours], values[theirs]
        ratio = a / b if b else math.inf
        sign = "<=" if at_most else ">="
        report.rows.append(
            Row(
                metric,
                "one run, references measured right after SEAM API",
                f"{ratio:.2f}x ({a:,.1f} / {b:,.1f} {unit})",
                f"{sign} {bound}x",
                ratio <= bound if at_most else ratio >= bound,
                "",
            )
        )

    to = "`data:changed` to 1,000 sockets"
    add(f"(f) server CPU per {to}, vs Node", ("cpu", "seam"), ("cpu", "node"), 2.0, "ms", True)
    add(f"(f) p99 of {to}, vs Node", ("p99", "seam"), ("p99", "node"), 1.3, "ms", True)
    add("(f) memory per idle socket, vs Node", ("kib", "seam"), ("kib", "node"), 1.3, "KiB", True)
    add("(f) `GET /users?limit=50` req/s, vs raw ASGI", "reads", "raw", 0.30, "req/s", False)
    add(
        "(f) the same with the admin's tab, vs raw ASGI",
        "reads-tab",
        "raw",
        0.25,
        "req/s",
        False,
    )


# -- phases ----------------------------------------------------------------------------------


def phase_sqlite(report: Report, options: Options, root: Path) -> None:
    workdir = root / "sqlite"
    workdir.mkdir()
    with servers.running(workdir, {}) as server:
        token, user_ids = asyncio.run(_seed(server.url, SEED_USERS, "bench"))
        if "a" in options.only:
            bench_reads(report, options, server, token, workdir, "SQLite")
            bench_reads(report, options, server, token, workdir, "SQLite", tab=True)
            bench_raw_reads(report, options, server.url, token, workdir)
        if "b" in options.only:
            bench_logins(report, options, server, workdir)
        if options.only & {"c", "d"}:
            asyncio.run(
                bench_delivery(report, options, [server], token, user_ids[0], cluster=False)
            )
    if options.only & {"c", "d"} and MEMORY_CLIENTS in options.sizes:
        plain = root / "sqlite-plain"
        plain.mkdir()
        with servers.running(plain, {"SEAM_LIBRARY_OVERRIDES": "off"}) as server:
            token, user_ids = asyncio.run(_seed(server.url, SEED_USERS, "plain"))
            asyncio.run(
                bench_delivery(
                    report, options, [server], token, user_ids[0], cluster=False, who="plain"
                )
            )
        missing = servers.node_available()
        if missing:
            report.notes.append(f"Node reference skipped: {missing}")
            return
        with servers.node_reference(workdir) as node:
            asyncio.run(bench_delivery(report, options, [node], "-", 1, cluster=False, who="node"))


def phase_postgres(report: Report, options: Options, root: Path) -> None:
    workdir = root / "postgres"
    workdir.mkdir()
    with ExitStack() as stack:
        try:
            env = {"SEAM_DATABASE_URL": stack.enter_context(servers.postgres_database())}
        except Exception as error:
            report.notes.append(f"PostgreSQL rows skipped: {type(error).__name__}: {error}")
            return
        if "a" in options.only:
            with servers.running(workdir, env) as server:
                token, _ = asyncio.run(_seed(server.url, SEED_USERS, "bench"))
                bench_reads(report, options, server, token, workdir, "PostgreSQL")
        if "e" not in options.only:
            return
        try:
            env["SEAM_REDIS_URL"] = stack.enter_context(servers.redis_database())
        except Exception as error:
            report.notes.append(f"Cluster rows skipped: {type(error).__name__}: {error}")
            return
        # Started one after the other: the second finds the schema migrated and bootstrapped.
        first = stack.enter_context(servers.running(workdir, env))
        second = stack.enter_context(servers.running(workdir, env))
        token, user_ids = asyncio.run(_seed(first.url, 1, "cluster"))
        asyncio.run(
            bench_delivery(report, options, [first, second], token, user_ids[0], cluster=True)
        )


SERIAL_EDIT_TARGET_MS = 2.0


def phase_routes(report: Report, options: Options, root: Path) -> None:
    """(p): every route on each backend, PocketBase's equivalent right after each."""
    missing = pocketbase.missing()
    if missing:
        report.notes.append(f"(p) PocketBase reference skipped: {missing}")

    def wanted(route: str) -> bool:
        return not options.routes or any(part in route for part in options.routes)

    for backend in options.backends:
        workdir = root / f"routes-{backend.lower()}"
        workdir.mkdir()
        with ExitStack() as stack:
            env = {}
            if backend == "PostgreSQL":
                try:
                    env["SEAM_DATABASE_URL"] = stack.enter_context(servers.postgres_database())
                except Exception as error:
                    report.notes.append(f"(p) PostgreSQL skipped: {type(error).__name__}: {error}")
                    continue
            server = stack.enter_context(servers.running(workdir, env))
            token, user_ids = asyncio.run(_seed(server.url, SEED_USERS, "bench"))
            reference = None
            if not missing:
                pb = stack.enter_context(pocketbase.running(workdir))
                seeded = pocketbase.seed(pb.url, members=SEED_USERS, roles=PB_ROLES)
                reference = routes.Reference(pb, seeded, workdir)
            seam = routes.Seam(server, token, user_ids, workdir)
            report.routes += routes.measure(seam, reference, backend, options.duration, wanted)
            if backend == "SQLite" and wanted(routes.SERIAL_EDIT):
                row = routes.serial_edit(seam, reference, backend, options.duration)
                report.routes.append(row)
                p50 = row.seam.result.p50_ms
                report.rows.append(
                    Row(
                        "(p) serial edit latency",
                        f"`PUT /users/:id` full_name, SQLite, 1 connection, {options.duration} s",
                        f"p50 {p50:.2f} ms, p99 {row.seam.result.p99_ms:.2f} ms "
                        f"({row.seam.result.rate:,.0f} edits/s)",
                        f"p50 <= {SERIAL_EDIT_TARGET_MS:g} ms",
                        p50 <= SERIAL_EDIT_TARGET_MS,
                        WRK,
                    )
                )


# PocketBase's `roles`, as SEAM API's bootstrap seeds its own: two rows.
PB_ROLES = [("admin", "Every permission"), ("user", "The default role")]


LIST_TARGET_MS = 500.0  # a console's search or sort of a big list should not feel stuck


def phase_lists(report: Report, options: Options, root: Path) -> None:
    """(l): the users list searched and sorted with 100,000 users, on each backend."""
    for backend in options.backends:
        workdir = root / f"lists-{backend.lower()}"
        workdir.mkdir()
        with ExitStack() as stack:
            if backend == "PostgreSQL":
                try:
                    database_url = stack.enter_context(servers.postgres_database())
                except Exception as error:
                    report.notes.append(f"(l) PostgreSQL skipped: {type(error).__name__}: {error}")
                    continue
            else:
                database_url = f"sqlite+aiosqlite:///{workdir / 'seam.db'}"
            server = stack.enter_context(
                servers.running(workdir, {"SEAM_DATABASE_URL": database_url})
            )
            token, _ids = asyncio.run(_seed(server.url, 1, "lists"))
            for timing in lists.run(database_url, server.url, token):
                total = "" if timing.total is None else f", total {timing.total:,}"
                report.rows.append(
                    Row(
                        f"(l) `GET /users`: {timing.query}",
                        f"{backend}, {lists.USERS:,} users, 1 connection",
                        f"p50 {timing.p50_ms:.0f} ms, p99 {timing.p99_ms:.0f} ms{total}",
                        f"p50 < {LIST_TARGET_MS:.0f} ms",
                        timing.p50_ms < LIST_TARGET_MS,
                        IN_PROCESS,
                    )
                )


def phase_replay(report: Report, options: Options, root: Path) -> None:
    """(r): 100 sockets that missed 500 mutations reconnect at once with their cursor."""
    workdir = root / "replay"
    workdir.mkdir()
    with servers.running(workdir, {}) as server:
        token, _ids = asyncio.run(_seed(server.url, 1, "replay"))
        result = asyncio.run(replay.measure_replay(server.url, token, server.pid))
    report.rows.append(
        Row(
            metric=f"(r) replay of {result.missed} missed events to {result.sockets} sockets "
            "reconnecting at once",
            setup="SQLite, `auth: {token, since}`",
            measured=f"all back in {result.seconds:.2f} s (per socket p50 {result.p50_ms:.0f} / "
            f"p99 {result.p99_ms:.0f} ms), server CPU {result.server_cpu_ms:.0f} ms, "
            f"{result.complete}/{result.sockets} got all {result.missed} in order",
            target="every socket gets every missed event, in order, once",
            met=result.complete == result.sockets,
            generator=IN_PROCESS,
        )
    )


def phase_soak(report: Report, options: Options, root: Path) -> None:
    """(s): the soak on PostgreSQL + Redis, on `options.soak_instances` instances."""
    workdir = root / "soak"
    workdir.mkdir()
    with ExitStack() as stack:
        try:
            env = {
                "SEAM_DATABASE_URL": stack.enter_context(servers.postgres_database()),
                "SEAM_REDIS_URL": stack.enter_context(servers.redis_database()),
            }
        except Exception as error:
            report.notes.append(f"Soak skipped: {type(error).__name__}: {error}")
            return
        folders = [workdir / f"instance-{n}" for n in range(options.soak_instances)]
        for folder in folders:
            folder.mkdir()
        instances = [stack.enter_context(servers.running(folder, env)) for folder in folders]
        server = instances[0]
        token, ids = asyncio.run(_seed(server.url, soak.MUTATED_USERS + 1, "soak"))
        tab = ("soak0@seam.bench", "bench-password-0")  # as _seed registered user 0
        with _profiled(options, server, "soak"):
            result = asyncio.run(
                soak.soak(
                    instances,
                    token=token,
                    user_ids=ids[1:],
                    tab_credentials=tab,
                    seconds=options.soak_seconds,
                    run_id=uuid.uuid4().hex[:8],
                )
            )
    _soak_rows(report, result)
    if options.profile is not None:
        report.profiles.append(
            profiling.markdown("Server during (s) the soak", options.profile / "soak.txt")
        )


def _soak_rows(report: Report, result: soak.SoakResult) -> None:
    setup = (
        f"PostgreSQL + Redis, {len(result.rss_mib)} instance(s), {soak.SOAK_SOCKETS} sockets, "
        f"a third replaced every "
        f"{soak.CHURN_EVERY:.0f} s ({result.sockets_opened:,} opened), "
        f"{soak.REQUESTS_PER_S:.0f} req/s open-loop of which {soak.MUTATIONS_PER_S:.0f} "
        f"mutations/s, {result.seconds:.0f} s"
    )
    held = result.lost == 0 and result.duplicated == 0 and result.p99_ms < 1000
    late = ", ".join(f"{value:.1f}" for value in result.late_minute)
    rss = "; ".join(
        f"instance {number}: "
        + ", ".join(f"{at / 60:.0f} min: {mib:.0f}" for at, mib in samples)
        + f" (slope over the last 20 min: {soak.rss_slope(samples):+.1f} MiB/h)"
        for number, samples in enumerate(result.rss_mib, 1)
    )
    closed = (
        "still open after 60 s"
        if result.logout_close_s is None
        else f"{1000 * result.logout_close_s:.0f} ms"
    )
    report.rows += [
        Row(
            "(s) soak: `data:changed` deliveries",
            setup,
            f"{result.deliveries:,} deliveries of {result.mutations:,} mutations; lost "
            f"{result.lost:,}, dup {result.duplicated:,}; p50 {result.p50_ms:.0f} ms, p99 "
            f"{result.p99_ms:.0f} ms, latest {result.max_late_s:.1f} s; CPU: server "
            f"{result.server_cpu_pct:.0f} %, generator {result.generator_cpu_pct:.0f} % of a core",
            "p99 < 1 s, 0 lost, 0 dup",
            held,
            SOAK_GENERATOR,
        ),
        Row(
            "(s) soak: latest delivery per minute",
            "worst lateness among each minute's mutations, s",
            late,
            "< 1 s",
            all(value < 1 for value in result.late_minute),
            "",
            order=1,
        ),
        Row(
            "(s) soak: HTTP",
            "",
            f"{result.requests:,} answered ({result.requests / result.seconds:.0f}/s), "
            f"{result.errors:,} errors, {result.skipped:,} not sent (256 already waiting); "
            f"p99 {result.http_p99_ms:.0f} ms",
            "0 errors, 0 not sent",
            result.errors == 0 and result.skipped == 0,
            "",
            order=2,
        ),
        Row(
            "(s) soak: server RSS over time",
            "per instance, minutes since start: MiB, and the slope of the last 20 minutes",
            rss,
            "flat after warm-up",
            None,
            "",
            order=3,
        ),
        Row(
            "(s) soak: a logged-out tab closed",
            "midway: log in, open a tab, `POST /auth/logout`, time to the tab's close",
            closed,
            "< 1 s",
            result.logout_close_s is not None and result.logout_close_s < 1,
            "",
            order=4,
        ),
    ]


def phase_sustained(report: Report, options: Options, root: Path) -> None:
    """(t): the highest mutation rate 1,000 sockets follow, SEAM API then Node, same run."""
    workdir = root / "sustained"
    workdir.mkdir()
    run_id = uuid.uuid4().hex[:8]
    found: dict[str, int] = {}
    with servers.running(workdir, {}) as server:
        token, ids = asyncio.run(_seed(server.url, 1, "sustained"))
        steps = asyncio.run(soak.sustained(server, token=token, user_id=ids[0], run_id=run_id))
        found["seam"] = _sustained_row(report, SETUPS["seam"], steps, 0)
    missing = servers.node_available()
    if missing:
        report.notes.append(f"Node sustained reference skipped: {missing}")
    else:
        with servers.node_reference(workdir) as node:
            steps = asyncio.run(soak.sustained(node, token="-", user_id=1, run_id=run_id))
            found["node"] = _sustained_row(report, NODE_SETUP, steps, 1)
    if len(found) == 2:
        ours, theirs = (
            report.values["ceiling", SETUPS["seam"]],
            report.values["ceiling", NODE_SETUP],
        )
        report.rows.append(
            Row(
                "(t) sustained rate, vs Node",
                "one run, Node right after SEAM API",
                f"held: {found['seam']} / {found['node']} mutations/s; CPU ceiling: "
                f"{ours / theirs:.2f}x ({ours:.0f} / {theirs:.0f} mutations/s)",
                "—",
                None,
                "",
                order=2,
            )
        )


def _sustained_row(report: Report, setup: str, steps: list[soak.Step], order: int) -> int:
    best = max((step.rate for step in steps if step.held), default=0)
    tried = "; ".join(
        f"{step.rate}/s: p99 {step.p99_ms:.0f} ms{', lost ' + str(step.lost) if step.lost else ''}"
        f", server {step.server_cpu_ms:.0f} ms CPU per mutation ({step.server_cpu_pct:.0f} %), "
        f"clients {step.client_cpu_pct:.0f} %"
        for step in steps
    )
    # CPU per mutation does not depend on the machine's other load as latency does: a core
    # of its own would saturate at about 1 s / that.
    per_mutation = sorted(step.server_cpu_ms for step in steps)[len(steps) // 2]
    report.rows.append(
        Row(
            f"(t) sustained mutations/s to {soak.SUSTAINED_SOCKETS:,} sockets, p99 < 250 ms",
            f"{setup}; each rate for {soak.SUSTAINED_STEP:.0f} s, open-loop, "
            "until one loses events or its p99 passes 2 s",
            f"**{best}/s** held; one free core would saturate at ~"
            f"{1000 / per_mutation:.0f}/s (median {per_mutation:.0f} ms CPU per mutation); "
            + tried,
            "—",
            None,
            SWARM,
            order=order,
        )
    )
    report.values["ceiling", setup] = 1000 / per_mutation
    return best


WORDS = {"soak": "s", "sustained": "t", "routes": "p", "lists": "l"}
WRK_PHASES = {"a", "b", "p"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--mutations", type=int, default=20, help="mutations per socket count")
    parser.add_argument("--sizes", default="100,1000", help="socket counts for (c) and (e)")
    parser.add_argument(
        "--only",
        default="abcdeplrts",
        help="phases to run, e.g. 'ac', or 'soak' (s), 'sustained' (t), 'routes' (p); default: all",
    )
    parser.add_argument(
        "--routes",
        default="",
        help="(p): only the routes whose name holds one of these comma-separated parts",
    )
    parser.add_argument(
        "--backends", default="SQLite,PostgreSQL", help="(p): SQLite, PostgreSQL or both"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    parser.add_argument(
        "--soak-seconds", type=float, default=480, help="length of the soak (s), default 480"
    )
    parser.add_argument(
        "--soak-instances", type=int, default=1, help="instances the soak (s) spreads over"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy the server during (a) and (c)"
    )
    args = parser.parse_args(argv)
    options = Options(
        duration=args.duration,
        mutations=args.mutations,
        sizes=[int(size) for size in args.sizes.split(",")],
        only={WORDS.get(word, word) for word in args.only.split(",")}
        if args.only in WORDS or "," in args.only
        else set(args.only),
        profile=args.profile,
        soak_seconds=args.soak_seconds,
        soak_instances=args.soak_instances,
        routes=[part for part in args.routes.split(",") if part],
        backends=[name for name in args.backends.split(",") if name],
    )
    # A thousand sockets need a thousand descriptors here and in the servers we start.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    report = Report()
    missing_wrk = loadgen.wrk_missing()
    if missing_wrk and options.only & WRK_PHASES:
        skipped = "".join(sorted(options.only & WRK_PHASES))
        report.notes.append(f"Phases {skipped} skipped: {missing_wrk}")
        options.only -= WRK_PHASES

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seam-bench-") as tmp:
        phases = (
            (phase_sqlite, "abcd"),
            (phase_postgres, "ae"),
            (phase_routes, "p"),
            (phase_lists, "l"),
            (phase_replay, "r"),
            (phase_sustained, "t"),
            (phase_soak, "s"),
        )
        for phase, letters in phases:
            if not options.only & set(letters):
                continue
            try:
                phase(report, options, Path(tmp))
            except Exception as error:
                traceback.print_exc()
                report.notes.append(f"{phase.__name__} failed: {type(error).__name__}: {error}")

    ratio_rows(report)
    cpus = len(os.sched_getaffinity(0))
    print(
        f"\n## SEAM API bench ({cpus} CPUs, Python {platform.python_version()}, "
        f"{time.monotonic() - started:.0f} s)\n"
    )
    print(report.markdown())
    print(
        "\nThe load generators run on the same cores as the server, and anything else running "
        "on the machine shows up in these numbers."
    )
    if report.routes:
        print("\n### (p) every route, SEAM API beside PocketBase\n")
        print(report.routes_markdown())
        print(
            "\nratio = SEAM req/s / PocketBase req/s, each pair measured back to back; CPU is "
            "the server's own per answered request."
        )
    for note in report.notes:
        print(f"- {note}")
    for profile in report.profiles:
        print(f"\n{profile}")
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
