"""The smoke test `make floors` runs on the lowest versions pyproject allows: a real server
starts, answers its probes, signs in, lists users and holds a websocket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import socketio

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, start_server


@pytest.fixture(scope="module")
def smoke_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("smoke"), {})
    yield running
    running.stop()


async def test_server_serves_rest_and_a_websocket(smoke_server: Server) -> None:
    async with httpx.AsyncClient(base_url=smoke_server.url, timeout=30) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        login = await http.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        token = login.json()["data"]["token"]
        users = await http.get(
            "/api/v1/users?limit=50", headers={"Authorization": f"Bearer {token}"}
        )
        assert users.status_code == 200 and users.json()["data"][0]["email"] == ADMIN_EMAIL
    client = socketio.AsyncClient()
    await client.connect(smoke_server.url, auth={"token": token}, transports=["websocket"])
    try:
        assert client.transport() == "websocket"
    finally:
        await client.disconnect()
