"""Servers for the tests: a real `seam-api serve` (from `bench/serving.py`, shared with the
bench), or an ASGI app on uvicorn inside the test process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from bench.serving import Server, free_port, start_server

__all__ = ["Server", "free_port", "served_here", "start_server"]


@asynccontextmanager
async def served_here(asgi: Any, **options: Any) -> AsyncIterator[str]:
    """`asgi` on uvicorn in this process, on a free port (`options` go to uvicorn.Config), for
    tests that look inside the running app; yields its base URL and stops it afterwards."""
    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=free_port(), lifespan="off", log_level="warning", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):  # uvicorn offers no event to wait on
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task
