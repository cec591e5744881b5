"""Past the server's replay limit the console reloads its tables (`data:resync`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.conftest import Server, start_server
from tests.console.conftest import Api, ContextFactory, create_user, sign_in


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that replays at most two missed events."""
    running = start_server(tmp_path_factory.mktemp("resync"), {"SEAM_EVENT_REPLAY_MAX": "2"})
    yield running
    running.stop()


async def test_more_changes_than_the_replay_holds_reload_the_table(
    new_context: ContextFactory, admin_api: Api
) -> None:
    page = await (await new_context()).new_page()
    await sign_in(page)
    await expect(page.locator("main tbody tr")).to_have_count(1)  # the admin

    # Cut the transport and hold the reconnect until the changes below are made.
    await page.evaluate("seam.socket.io.reconnection(false); seam.socket.io.engine.close()")
    await expect(page.locator(".connection")).not_to_have_attribute("data-state", "online")
    for number in range(3):
        create_user(admin_api, f"missed{number}@example.com", f"Missed {number}")
    await page.evaluate("seam.socket.io.reconnection(true); seam.socket.connect()")

    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")
    await expect(page.locator("main tbody tr")).to_have_count(4)
    assert await page.evaluate("seam.socket.recovered") is False
