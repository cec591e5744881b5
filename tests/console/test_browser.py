"""The console in a real browser: signing in, live tables, permissions, safety, recovery."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from tests.console.conftest import Api, ContextFactory, sign_in


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_admin_creates_a_user_in_a_new_role_and_sees_it_in_the_table(
    new_context: ContextFactory,
) -> None:
    page = await (await new_context()).new_page()
    await sign_in(page)
    role_name = unique("editors")
    await page.get_by_role("link", name="Roles").click()
    await page.get_by_role("button", name="New role").click()
    await page.get_by_label("Role name").fill(role_name)
    await page.get_by_label("Description").fill("Edits things")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("cell", name=role_name, exact=True)).to_be_visible()

    email = f"{unique('ana')}@example.com"
    await page.get_by_role("link", name="Users").click()
    await page.get_by_role("button", name="New user").click()
    await page.get_by_label("Full name").fill("Ana Editor")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("secret-pass-1")
    await page.get_by_label("Role").select_option(label=role_name)
    await page.get_by_role("button", name="Create").click()
    row = page.locator("tr", has=page.get_by_role("cell", name=email, exact=True))
    await expect(row).to_contain_text(role_name)
    await expect(row).to_contain_text("Ana Editor")
