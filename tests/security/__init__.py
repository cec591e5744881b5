"""The security suite's shared piece: a Socket.IO tab that closes cleanly on both transports."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import socketio


class Tab:
    """One Socket.IO connection: its progress events, and whether the server closed it.

    It hands the client its HTTP sessions and closes them itself. python-engineio leaves a
    polling GET pending after a close (until the ping timeout, 30 s) and may open a fresh
    session from its write loop meanwhile; closing every session first ends that GET at once.
    """

    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self.finished = asyncio.Event()
        self.progress: list[dict[str, Any]] = []
        self._sessions: list[aiohttp.ClientSession] = []
        self.client = socketio.AsyncClient(reconnection=False, http_session=self._new_session)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("operation:progress", self._on_progress)

    def _new_session(self) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession()
        self._sessions.append(session)
        return session

    def _on_disconnect(self, *_reason: Any) -> None:
        self.closed.set()

    def _on_progress(self, payload: dict[str, Any]) -> None:
        self.progress.append(payload)
        if payload["status"] in ("success", "error"):
            self.finished.set()

    async def open(self, url: str, token: str, transport: str) -> Tab:
        await self.client.connect(url, auth={"token": token}, transports=[transport])
        return self

    async def close(self) -> None:
        await self._close_sessions()
        await self.client.eio.wait()  # its read and write loops have ended
        await self.client.disconnect()
        if self.client.eio.state != "disconnected":  # a refused CONNECT leaves Engine.IO open
            await self.client.eio.disconnect(abort=True)
        await self._close_sessions()

    async def _close_sessions(self) -> None:
        for session in self._sessions:
            await session.close()
