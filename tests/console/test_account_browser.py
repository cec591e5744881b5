"""The console's account pages in a real browser: the second factor from enrolment to a
two-step sign-in, the forced change of a temporary password, and signing out elsewhere."""

from __future__ import annotations

import uuid

import pyotp
from playwright.async_api import Page, expect

from tests.console.conftest import Api, ContextFactory, create_user, sign_in

PASSWORD = "secret-pass-1"


def new_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


async def open_account(page: Page) -> None:
    await page.get_by_role("link", name="My account").click()
    await expect(page.get_by_role("heading", name="My account")).to_be_visible()


async def test_two_factor_is_set_up_with_a_qr_code_and_asked_for_at_the_next_sign_in(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = new_email("mia")
    create_user(admin_api, email, "Mia Factor")
    page = await (await new_context()).new_page()
    await sign_in(page, email, PASSWORD)
    await open_account(page)
    await page.get_by_role("button", name="Set up").click()
    qr = page.get_by_role("img", name="QR code of the authenticator key")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    secret = await page.get_by_test_id("mfa-secret").text_content()
    assert secret
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Confirm").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    await expect(codes).to_have_count(10)
    recovery = (await codes.first.text_content() or "").strip()
    await page.get_by_role("button", name="Done").click()
    await expect(page.get_by_test_id("recovery-codes")).to_have_count(0)
    await expect(page.get_by_role("button", name="Turn off")).to_be_visible()

    await page.get_by_role("button", name="Sign out", exact=True).first.click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Code").fill(recovery)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")


async def test_a_temporary_password_is_changed_before_anything_else(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = new_email("tom")
    user_id = create_user(admin_api, email, "Tom Temporary")
    reset = admin_api.call("PUT", f"/users/{user_id}/resetPassword")
    assert isinstance(reset, dict)
    page = await (await new_context()).new_page()
    await page.goto("/admin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(reset["temporaryPassword"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("Your password is temporary")).to_be_visible()
    await expect(page.get_by_role("link", name="My account")).to_have_count(0)
    await page.get_by_label("Current password").fill(reset["temporaryPassword"])
    await page.get_by_label("New password").fill("my-own-password-2")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")
    await expect(page.get_by_role("link", name="My account")).to_be_visible()


async def test_sign_out_everywhere_else_ends_the_other_browsers_session(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = new_email("sol")
    create_user(admin_api, email, "Sol Sessions")
    here = await (await new_context()).new_page()
    there = await (await new_context()).new_page()
    await sign_in(there, email, PASSWORD)
    await sign_in(here, email, PASSWORD)
    await open_account(here)
    sessions = here.locator("section[aria-labelledby='account-sessions'] tbody tr")
    await expect(sessions).to_have_count(2)
    await here.get_by_role("button", name="Sign out everywhere else").click()
    await expect(sessions).to_have_count(1)
    await expect(there.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(here.locator(".connection")).to_have_attribute("data-state", "online")
