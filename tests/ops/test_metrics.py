"""/metrics: guarded by SEAM_METRICS, counts requests by route template and status, logins,
sockets and pool use, and declares the event-delivery metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from tests import conftest
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AppFactory,
    Server,
    bearer,
    login,
    start_server,
)
from tests.helpers import API
from tests.security import Tab

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
TOKEN = "scrape-token-0123456789"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(f"{name}{{{wanted}}}" if labels else name) + r" (\S+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def scrape(http: httpx.AsyncClient, **headers: str) -> str:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@ON_SQLITE
async def test_metrics_are_off_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404


@ON_SQLITE
async def test_a_token_guards_the_metrics(make_app: AppFactory) -> None:
    application = await make_app(metrics=TOKEN)
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token-at-all"}
        assert (await http.get("/metrics", headers=wrong)).status_code == 401
        await scrape(http, Authorization=f"Bearer {TOKEN}")


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="SEAM_METRICS"):
        conftest.test_settings("sqlite+aiosqlite:///:memory:", metrics="short")


@ON_SQLITE
async def test_requests_are_counted_by_route_template_and_status(make_app: AppFactory) -> None:
    application = await make_app(metrics="open")
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        before = await scrape(http)
        labels = {"method": "GET", "route": f"{API}/users/{{id}}", "status": "401"}
        await http.get(f"{API}/users/7")
        await http.get(f"{API}/users/8")
        await http.get("/no/such/route/12345")
        await http.post(f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-pw-1"})
        await http.post(
            f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        after = await scrape(http)
    name = "seam_http_requests_total"
    assert sample(after, name, **labels) - sample(before, name, **labels) == 2
    assert "/no/such/route" not in after
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert sample(after, name, **unmatched) > sample(before, name, **unmatched)
    histogram = "seam_http_request_duration_seconds_count"
    route = {"method": "GET", "route": f"{API}/users/{{id}}"}
    assert sample(after, histogram, **route) - sample(before, histogram, **route) == 2
    for result in ("refused", "success"):
        logins = "seam_logins_total"
        assert sample(after, logins, result=result) - sample(before, logins, result=result) == 1
    assert sample(after, "seam_db_pool_connections", state="idle") >= 0
    for declared in (
        "seam_events_emitted_total",
        "seam_events_delivered_total",
        "seam_event_queue_depth",
        "seam_event_replays_total",
        "seam_event_lag_seconds",
    ):
        assert f"# TYPE {declared.removesuffix('_total')}" in after


@ON_SQLITE
async def test_event_metrics_follow_the_log_and_the_queue(make_app: AppFactory) -> None:
    application = await make_app(metrics="open")
    transport = httpx.ASGITransport(app=application.asgi)
    changed = {"event": "data:changed"}
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        headers = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        before = await scrape(http)
        response = await http.post(f"{API}/roles", headers=headers, json={"roleName": "metered"})
        assert response.status_code == 201
        await application.seam.realtime.drain()
        after = await scrape(http)
    for name in ("seam_events_emitted_total", "seam_events_delivered_total"):
        assert sample(after, name, **changed) - sample(before, name, **changed) == 1
    assert sample(after, "seam_event_lag_seconds_count") > sample(
        before, "seam_event_lag_seconds_count"
    )
    assert sample(after, "seam_event_queue_depth") == 0  # drained: the gauge reads the queue


@pytest.fixture(scope="module")
def metrics_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("metrics"), {"SEAM_METRICS": "open"})
    yield running
    running.stop()


async def test_sockets_connected_counts_this_instance_sockets(metrics_server: Server) -> None:
    async with httpx.AsyncClient(base_url=metrics_server.url, timeout=30) as http:
        login = await http.post(
            f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        token = login.json()["data"]["token"]
        assert sample(await scrape(http), "seam_sockets_connected") == 0
        tab = Tab()  # closes its HTTP sessions itself, which python-socketio's client may not
        await tab.open(metrics_server.url, token, "websocket")
        try:
            assert sample(await scrape(http), "seam_sockets_connected") == 1
        finally:
            await tab.close()
