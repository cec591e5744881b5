"""Contract 9.4 across instances: a session ended on one instance loses its sockets on another
within a second."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.conftest import SHARED_REDIS, Databases, bearer
from tests.scaleout.conftest import (
    API,
    Cluster,
    fresh_shared_redis,
    instance_env,
    login_user,
    register_user,
    start_cluster,
    stop_instances,
)

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

Listen = Callable[[str, str], Any]


@pytest.fixture(scope="module")
async def pair(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Two instances (the least that shows it) on one PostgreSQL database and the shared Redis."""
    redis_url = await fresh_shared_redis()
    database_url = await databases.create("postgresql")
    running = await start_cluster(
        tmp_path_factory.mktemp("pair"), instance_env(database_url, redis_url), 2
    )
    yield running
    await stop_instances(running.instances)


async def test_ending_a_session_closes_its_socket_on_another_instance_within_a_second(
    pair: Cluster, listen: Listen
) -> None:
    first, second = pair.instances
    roles = (await first.http.get(f"{API}/roles", headers=pair.admin)).json()["data"]
    default_role = next(role["idRole"] for role in roles if role["roleName"] == "user")
    user_id = await register_user(first, pair.admin, default_role)
    tokens = [await login_user(first, pair.admin, user_id) for _ in range(2)]
    ending = await listen(second.url, tokens[0])
    staying = await listen(second.url, tokens[1])
    keeper = bearer(tokens[1])
    sessions = (await first.http.get(f"{API}/auth/sessions", headers=keeper)).json()["data"]
    ended = next(session["idSession"] for session in sessions if not session["current"])

    sent = time.monotonic()
    answer = await first.http.delete(f"{API}/auth/sessions/{ended}", headers=keeper)
    assert answer.status_code == 200, answer.text

    assert await ending.disconnected_within(10), "the ended session's socket stayed open"
    assert ending.disconnected_at is not None and ending.disconnected_at - sent <= 1.0
    assert not await staying.disconnected_within(0.3)
    refused = await second.http.get(f"{API}/roles", headers=bearer(tokens[0]))
    assert refused.status_code == 401
