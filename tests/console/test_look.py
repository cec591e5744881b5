"""The console's accessibility (an axe-core scan) and its screenshots for the README.

This module has its own server, so the users in the screenshots are always the same ones.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Api,
    ContextFactory,
    create_role_with,
    create_user,
    sign_in,
)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
PEOPLE = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Katherine Johnson", "katherine@example.com"),
]


@pytest.fixture(scope="module")
def people(server: Any) -> None:
    """The same few users, an `editor` role, and the users page's menu item renamed."""
    token = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ).json()["data"]["token"]
    api = Api(server, token)
    role_id = create_role_with(api, "editor", "GET /api/v1/users", "PUT /api/v1/users/:id")
    for full_name, email in PEOPLE:
        create_user(api, email, full_name, role_id)
    # The bootstrap's menu item for the users page, renamed as an admin would.
    items = api.call("GET", "/sidebar")
    assert isinstance(items, list)
    users_item = next(item for item in items if item["route"] == "/admin/users")
    api.call("PUT", f"/sidebar/{users_item['idItem']}", {"nameItem": "People"})
    user_id = create_user(api, "linus@example.com", "Linus Torvalds")
    api.call("PUT", f"/users/{user_id}/state", {"isActive": 0})
    api.close()


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_no_serious_issue_on_the_pages(
    new_context: ContextFactory, people: None, scheme: str
) -> None:
    # The scan injects axe's script, which the console's own policy would rightly refuse.
    page = await (await new_context(bypass_csp=True, color_scheme=scheme)).new_page()
    await page.goto("/admin")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert await serious_violations(page) == []

    await sign_in(page)
    await expect(page.get_by_role("cell", name="ada@example.com", exact=True)).to_be_visible()
    assert await serious_violations(page) == []
    # The menu item pointing at the users page names it.
    await expect(page.get_by_role("link", name="People")).to_have_attribute("aria-current", "page")

    await page.get_by_role("row", name="Ada Lovelace").get_by_role("button", name="Edit").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    assert await serious_violations(page) == []
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)

    for name in ("Roles", "Permissions", "Sidebar", "Audit"):
        await page.get_by_role("link", name=name).click()
        await expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
        await expect(page.locator("main tbody tr").first).to_be_visible()
        if name == "Roles":
            await (
                page.get_by_role("row", name="editor")
                .get_by_role("button", name="Permissions")
                .click()
            )
            await expect(page.get_by_role("checkbox").first).to_be_visible()
        assert await serious_violations(page) == [], name
    await page.get_by_role("button", name="Details").first.click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    assert await serious_violations(page) == []
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)

    await page.get_by_role("link", name="My account").click()
    await expect(page.get_by_role("heading", level=1, name="My account")).to_be_visible()
    await expect(page.locator("main tbody tr").first).to_be_visible()
    assert await serious_violations(page) == [], "My account"


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_screenshots_of_the_users_page(
    new_context: ContextFactory, people: None, scheme: str
) -> None:
    page = await (await new_context(color_scheme=scheme)).new_page()
    await sign_in(page)
    await expect(page.get_by_role("cell", name="linus@example.com", exact=True)).to_be_visible()
    await expect(page.locator(".toast")).to_have_count(0)
    await page.evaluate("document.fonts.ready.then(() => true)")
    shot = await page.screenshot(animations="disabled", caret="hide")
    assert len(shot) > 10_000
    path = SCREENSHOTS / f"users-{scheme}.png"
    if not path.exists() or not same_picture(path.read_bytes(), shot):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path.write_bytes(shot)


def png_rows(png: bytes) -> bytes:
    """The filtered scanlines of a PNG (its IDAT chunks, inflated)."""
    position, data = 8, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        if png[position + 4 : position + 8] == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    return zlib.decompress(data)


def same_picture(old: bytes, new: bytes) -> bool:
    """The committed screenshot still shows the page: the software rasteriser may shade a few
    pixels of a rounded corner differently from run to run, which is no reason to rewrite it."""
    before, after = png_rows(old), png_rows(new)
    if len(before) != len(after):
        return False
    differing = sum(1 for x, y in zip(before, after, strict=True) if x != y)
    return differing <= len(before) // 10_000
