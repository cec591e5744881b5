"""The time to replay missed events (docs/reference.md §5.4): sockets that were away while
`missed` mutations committed reconnect at once with `since`, and each must get every one of
them, in order, before its CONNECT reply."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

import aiohttp
import orjson

from bench.sockets import percentile


@dataclass
class ReplayResult:
    sockets: int
    missed: int
    seconds: float  # from the first reconnect to the last CONNECT reply
    p50_ms: float
    p99_ms: float
    complete: int  # sockets that got exactly the missed events, in order
    server_cpu_ms: float


async def _latest(session: aiohttp.ClientSession, url: str, token: str) -> str:
    """The newest eventId, from a first connect's `data:synced`."""
    ws = await _open(session, url)
    try:
        await ws.send_str("40" + orjson.dumps({"token": token}).decode())
        while True:
            text = await ws.receive_str(timeout=30)
            if text.startswith('42["data:synced"'):
                return str(orjson.loads(text[2:])[2])
    finally:
        await ws.close()


async def _open(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    endpoint = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await session.ws_connect(endpoint, autoping=False, max_msg_size=0)
    assert (await ws.receive_str(timeout=30)).startswith("0")
    return ws


async def _catch_up(
    session: aiohttp.ClientSession, url: str, token: str, since: str, start: float
) -> tuple[float, list[int]]:
    """Reconnect with a cursor; the ids replayed before the CONNECT reply, and when it came."""
    ws = await _open(session, url)
    ids: list[int] = []
    try:
        await ws.send_str("40" + orjson.dumps({"token": token, "since": since}).decode())
        while True:
            text = await ws.receive_str(timeout=120)
            if text == "2":
                await ws.send_str("3")
            elif text.startswith('42["data:changed"'):
                ids.append(int(orjson.loads(text[2:])[2]))
            elif text.startswith("40"):
                return time.perf_counter() - start, ids
            elif text.startswith("44"):
                raise RuntimeError(f"refused: {text}")
    finally:
        await ws.close()


def _cpu_ms(pid: int) -> float:
    """The process's user + system CPU so far, in milliseconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


async def measure_replay(
    url: str, token: str, pid: int, *, sockets: int = 100, missed: int = 500
) -> ReplayResult:
    async with aiohttp.ClientSession() as session:
        since = await _latest(session, url, token)
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(
            f"{url}/api/v1/roles", json={"roleName": f"replay-{time.time_ns()}"}, headers=headers
        ) as response:
            role_id = (await response.json())["data"]["idRole"]
        for number in range(missed - 1):
            body = {"description": f"replayed change {number}"}
            async with session.put(
                f"{url}/api/v1/roles/{role_id}", json=body, headers=headers
            ) as response:
                assert response.status == 200, await response.text()
        cpu_before = _cpu_ms(pid)
        start = time.perf_counter()
        results = await asyncio.gather(
            *(_catch_up(session, url, token, since, start) for _ in range(sockets))
        )
        seconds = time.perf_counter() - start
        cpu = _cpu_ms(pid) - cpu_before
    times = [elapsed * 1000 for elapsed, _ids in results]
    complete = sum(1 for _t, ids in results if len(ids) == missed and ids == sorted(set(ids)))
    return ReplayResult(
        sockets=sockets,
        missed=missed,
        seconds=seconds,
        p50_ms=percentile(times, 50),
        p99_ms=percentile(times, 99),
        complete=complete,
        server_cpu_ms=cpu,
    )
