"""SEAM_TRUSTED_PROXIES: X-Forwarded-For is believed from trusted peers only, read from the
right, and the address it yields is the one the login limiter counts."""

from __future__ import annotations

import asyncio
import ipaddress
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from seam_api.core.context import current
from seam_api.web.forwarded import ClientAddresses
from tests.conftest import ADMIN_EMAIL, AppFactory, Server
from tests.helpers import API

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

BALANCERS = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1"))


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    addresses = ClientAddresses((ipaddress.ip_network("10.0.0.0/8"),))
    assert addresses.resolve("192.0.2.1", "203.0.113.9") == "192.0.2.1"


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert ClientAddresses(()).resolve("127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    addresses = ClientAddresses(BALANCERS)
    # The client wrote 198.51.100.1 itself; the balancers appended what they saw.
    assert addresses.resolve("10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.1") == "203.0.113.9"


def test_garbage_in_the_header_stops_at_the_last_trusted_hop() -> None:
    addresses = ClientAddresses(BALANCERS)
    assert addresses.resolve("10.0.0.2", "not-an-address, 10.0.0.1") == "10.0.0.1"
    assert addresses.resolve("10.0.0.2", "203.0.113.9:443") == "10.0.0.2"


@asynccontextmanager
async def _behind(
    make_app: AppFactory, peer: str, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    application = await make_app(**settings)
    transport = httpx.ASGITransport(app=application.asgi, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        yield http


@ON_SQLITE
async def test_request_context_carries_the_forwarded_client(make_app: AppFactory) -> None:
    async with _behind(make_app, "10.1.2.3", trusted_proxies="10.0.0.0/8") as http:
        await http.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
        context = current()
        assert context is not None and context.client_address == "203.0.113.9"


@ON_SQLITE
async def test_request_context_ignores_the_header_from_an_untrusted_peer(
    make_app: AppFactory,
) -> None:
    async with _behind(make_app, "192.0.2.1", trusted_proxies="10.0.0.0/8") as http:
        await http.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
        context = current()
        assert context is not None and context.client_address == "192.0.2.1"


@ON_SQLITE
async def test_login_limit_counts_each_forwarded_client_apart(make_app: AppFactory) -> None:
    async with _behind(
        make_app,
        "10.1.2.3",
        trusted_proxies="10.0.0.0/8",
        login_max_failures_per_address=2,
        login_max_failures_per_account=100,
    ) as http:

        async def attempt(client: str) -> int:
            response = await http.post(
                f"{API}/auth/login",
                json={"email": ADMIN_EMAIL, "password": "wrong-password"},
                headers={"X-Forwarded-For": client},
            )
            return response.status_code

        assert [await attempt("203.0.113.1") for _ in range(3)] == [401, 401, 429]
        # Another user behind the same balancer is not locked out by the first one.
        assert await attempt("203.0.113.2") == 401


async def test_a_served_app_believes_no_forwarded_header_by_default(server: Server) -> None:
    """uvicorn rewrites the client from X-Forwarded-For for 127.0.0.1 unless told not to: a
    second, undocumented trust that SEAM_TRUSTED_PROXIES (empty here) must be the only one."""
    path = f"{API}/no-such-route-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.get(path, headers={"X-Forwarded-For": "203.0.113.9"})
    deadline = time.monotonic() + 5
    while not (lines := [line for line in server.log.read_text().splitlines() if path in line]):
        assert time.monotonic() < deadline, "no access line"
        await asyncio.sleep(0.05)
    assert lines[0].rstrip().endswith(" 127.0.0.1"), lines[0]
