"""The console's accessibility (an axe-core scan) and its screenshots for the docs: one of each
page in the light theme (docs/screenshots/<page>-light.png), and the users page in the dark.

This module has its own server, so the users in the screenshots are always the same ones; the
moments a page shows (sign-ins, audit entries) are pinned to one date before each picture.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pyotp
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

PASSWORD = "secret-pass-1"  # create_user's

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
    # Ada's key for her account page; Grace's key and second factor for her Access dialog.
    for email, with_mfa in (("ada@example.com", False), ("grace@example.com", True)):
        answer = httpx.post(
            f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        own = Api(server, answer.json()["data"]["token"])
        body = {"name": "nightly-export", "permissions": ["GET /api/v1/users"]}
        own.call("POST", "/auth/keys", body)
        if with_mfa:
            enrolment = own.call("POST", "/auth/mfa/totp")
            assert isinstance(enrolment, dict)
            code = pyotp.TOTP(enrolment["secret"]).now()
            own.call("POST", "/auth/mfa/totp/confirm", {"code": code})
        own.close()


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


async def at_users(page: Page) -> None:
    await sign_in(page)
    await expect(page.get_by_role("cell", name="linus@example.com", exact=True)).to_be_visible()


async def at_page(page: Page, link: str) -> None:
    await sign_in(page)
    await page.get_by_role("link", name=link).click()
    await expect(page.get_by_role("heading", level=1, name=link)).to_be_visible()
    await expect(page.locator("main tbody tr").first).to_be_visible()


async def at_sign_in(page: Page) -> None:
    await page.goto("/admin")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()


async def at_reset(page: Page) -> None:
    await page.goto("/admin/reset#token=from-the-email")
    await expect(page.get_by_role("button", name="Save the password")).to_be_visible()


async def at_access(page: Page) -> None:
    await at_users(page)
    row = page.get_by_role("row", name="Grace Hopper")
    await row.get_by_role("button", name="Access").click()
    dialog = page.get_by_role("dialog", name="Access of grace@example.com")
    await expect(dialog.get_by_role("cell", name="nightly-export")).to_be_visible()
    await expect(dialog.get_by_test_id("user-mfa")).to_contain_text("On")
    await expect(
        dialog.locator("section[aria-labelledby='access-sessions'] tbody tr")
    ).to_have_count(1)


async def at_audit(page: Page) -> None:
    """The users' entries: the same on every run (sign-ins would add to the unfiltered list)."""
    await at_page(page, "Audit")
    await page.get_by_label("Entity", exact=True).select_option("user")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("main tbody tr")).to_have_count(6)


async def at_account(page: Page) -> None:
    await sign_in(page, "ada@example.com", PASSWORD)
    await page.get_by_role("link", name="My account").click()
    await expect(page.get_by_role("heading", level=1, name="My account")).to_be_visible()
    keys = page.locator("section[aria-labelledby='keys-title'] tbody tr")
    await expect(keys).to_contain_text("nightly-export")
    await expect(
        page.locator("section[aria-labelledby='account-sessions'] tbody tr")
    ).to_have_count(2)


# Each page of the console, how to reach it, and whether its picture is the whole page.
PAGES: dict[str, tuple[Callable[[Page], Awaitable[None]], bool]] = {
    "sign-in": (at_sign_in, False),
    "reset": (at_reset, False),
    "users": (at_users, False),
    "users-access": (at_access, False),
    "roles": (lambda page: at_page(page, "Roles"), False),
    "permissions": (lambda page: at_page(page, "Permissions"), False),
    "sidebar": (lambda page: at_page(page, "Sidebar"), False),
    "audit": (at_audit, False),
    "account": (at_account, True),
}
# Moments differ from run to run: a picture shows this one instead, from the top of the page.
SETTLE = """() => {
  const moment = new Date('2030-01-31T09:30:00Z').toLocaleString(document.documentElement.lang);
  for (const time of document.querySelectorAll('time')) time.textContent = moment;
  window.scrollTo(0, 0);
}"""


@pytest.mark.parametrize(
    ("name", "scheme"),
    [*((name, "light") for name in PAGES), ("users", "dark")],
)
async def test_screenshots_of_each_page(
    new_context: ContextFactory, people: None, name: str, scheme: str
) -> None:
    reach, whole = PAGES[name]
    context = await new_context(color_scheme=scheme, timezone_id="UTC")
    page = await context.new_page()
    await reach(page)
    await expect(page.locator(".toast")).to_have_count(0)
    await page.evaluate("document.fonts.ready.then(() => true)")
    await page.evaluate(SETTLE)
    shot = await page.screenshot(animations="disabled", caret="hide", full_page=whole)
    assert len(shot) > 10_000
    path = SCREENSHOTS / f"{name}-{scheme}.png"
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
