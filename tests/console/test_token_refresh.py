"""The console refreshes its access token a minute before it expires (reference §4.3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.conftest import Server, start_server
from tests.console.conftest import ContextFactory, sign_in

TOKEN_OF_THE_TAB = "JSON.parse(sessionStorage.getItem('seam.session')).token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Tokens of 62 s: the console refreshes them after a few seconds, not after an hour."""
    running = start_server(tmp_path_factory.mktemp("short-tokens"), {"SEAM_JWT_EXPIRES_IN": "62"})
    yield running
    running.stop()


async def test_the_console_swaps_its_token_before_it_expires(new_context: ContextFactory) -> None:
    page = await (await new_context()).new_page()
    await sign_in(page)
    first = await page.evaluate(TOKEN_OF_THE_TAB)
    deadline = time.monotonic() + 30
    while await page.evaluate(TOKEN_OF_THE_TAB) == first:
        assert time.monotonic() < deadline, "the token was not refreshed"
        await asyncio.sleep(0.5)
    await page.get_by_role("link", name="My account").click()
    sessions = page.locator("section[aria-labelledby='account-sessions'] tbody tr")
    await expect(sessions).to_have_count(1)  # the same session, not a new sign-in
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")
