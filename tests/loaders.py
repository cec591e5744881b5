"""A cache loader whose answer a test holds back, to land a change while a load is running."""

from __future__ import annotations

import asyncio


class Gated:
    """Answers `values` in turn (the last one from then on), each held until `release` is set."""

    def __init__(self, *values: object) -> None:
        self.values = list(values)
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self, *_key: object) -> object:
        self.calls += 1
        value = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        await self.release.wait()
        return value
