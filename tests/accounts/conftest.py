"""A served app for the tests whose sockets must connect."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from seam_api.cli import connection_options
from tests.accounts import sign_in
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer
from tests.server_process import served_here

Live = tuple[str, httpx.AsyncClient, dict[str, str]]


@pytest.fixture
async def live(make_app: AppFactory) -> AsyncIterator[Live]:
    """The app on uvicorn in this process: its URL, an HTTP client and the admin's headers."""
    application = await make_app()
    options = connection_options(application.seam.settings)
    async with (
        served_here(application.asgi, **options) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        admin = bearer((await sign_in(http, ADMIN_EMAIL, ADMIN_PASSWORD))["token"])
        yield url, http, admin
