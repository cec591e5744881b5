"""`/healthz` and `/readyz`: unauthenticated, outside `/api/v1`, and `/readyz` names the
dependency that does not answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from seam_api.app import create_app
from tests import conftest
from tests.conftest import SHARED_REDIS

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

DEAD_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@asynccontextmanager
async def _client(database_url: str, **overrides: str) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(conftest.test_settings(database_url, **overrides))
    transport = httpx.ASGITransport(app=application.asgi)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
            yield http
    finally:
        await application.api.state.probes.close()
        await application.seam.db.dispose()


async def test_healthz_answers_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}, "failing": []}


async def test_readyz_checks_redis_when_configured() -> None:
    async with _client("sqlite+aiosqlite:///:memory:", redis_url=conftest.REDIS_URL) as http:
        response = await http.get("/readyz")
        if response.status_code == 503:
            conftest.unavailable("Redis", ConnectionError(conftest.REDIS_URL))
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_names_an_unreachable_database() -> None:
    async with _client(DEAD_POSTGRES) as http:
        response = await http.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["failing"] == ["database"]
        assert body["checks"] == {"database": "unavailable"}


async def test_readyz_names_an_unreachable_redis() -> None:
    async with _client("sqlite+aiosqlite:///:memory:", redis_url=DEAD_REDIS) as http:
        response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "checks": {"database": "ok", "redis": "unavailable"},
            "failing": ["redis"],
        }
