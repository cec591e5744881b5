"""Python's handle on `tabs.mjs`: stock socket.io-client tabs in one Node process."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

E2E = Path(__file__).parent


def node_or_skip() -> str:
    """The node binary, once socket.io-client is installed; a skip (a failure under CI) if not."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (E2E / "node_modules" / "socket.io-client").is_dir():
        reason = "socket.io-client is not installed: run `npm ci` in tests/e2e"
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason}; CI requires it")
        pytest.skip(reason)
    assert node is not None
    return node


class Tabs:
    """Send a command, get its answer; `events(name)` is what that tab received, in order."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._ids = itertools.count(1)

    @classmethod
    async def start(cls) -> Tabs:
        process = await asyncio.create_subprocess_exec(
            node_or_skip(),
            str(E2E / "tabs.mjs"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def command(self, cmd: str, name: str = "", **fields: Any) -> dict[str, Any]:
        assert self._process.stdin and self._process.stdout
        request_id = next(self._ids)
        line = json.dumps({"id": request_id, "cmd": cmd, "name": name, **fields})
        self._process.stdin.write(line.encode() + b"\n")
        await self._process.stdin.drain()
        while True:
            raw = await asyncio.wait_for(self._process.stdout.readline(), 30)
            answer: dict[str, Any] = json.loads(raw)
            if answer.pop("reply") == request_id:
                return answer

    async def open(self, name: str, url: str, token: str, **options: Any) -> dict[str, Any]:
        return await self.command("open", name, url=url, token=token, **options)

    async def events(self, name: str) -> list[list[Any]]:
        return list((await self.command("events", name))["events"])

    async def close(self) -> None:
        if self._process.returncode is None:
            assert self._process.stdin
            self._process.stdin.close()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
