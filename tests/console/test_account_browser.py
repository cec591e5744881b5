"""The console's account pages in a real browser, in English and in Spanish: the second factor
from enrolment to a two-step sign-in, the forced change of a temporary password, and signing
out elsewhere. In Spanish, every screen on the way shows no English."""

from __future__ import annotations

import uuid

import pyotp
import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import Api, ContextFactory, create_user, english_left, sign_in

PASSWORD = "secret-pass-1"
LANGUAGES = ["en", "es"]
# What each screen is found by, in each language.
TEXTS = {
    "en": {
        "locale": "en-US",
        "account": "My account",
        "set_up": "Set up",
        "qr": "QR code of the authenticator key",
        "code": "Code",
        "confirm": "Confirm",
        "done": "Done",
        "turn_off": "Turn off",
        "sign_out": "Sign out",
        "email": "Email",
        "password": "Password",
        "sign_in": "Sign in",
        "verify": "Verify",
        "temporary": "Your password is temporary",
        "current": "Current password",
        "new": "New password",
        "change": "Change password",
        "others": "Sign out everywhere else",
    },
    "es": {
        "locale": "es-ES",
        "account": "Mi cuenta",
        "set_up": "Configurar",
        "qr": "Código QR de la clave de autenticación",
        "code": "Código",
        "confirm": "Confirmar",
        "done": "Listo",
        "turn_off": "Desactivar",
        "sign_out": "Cerrar sesión",
        "email": "Correo",
        "password": "Contraseña",
        "sign_in": "Entrar",
        "verify": "Verificar",
        "temporary": "Tu contraseña es temporal",
        "current": "Contraseña actual",
        "new": "Nueva contraseña",
        "change": "Cambiar contraseña",
        "others": "Cerrar las demás sesiones",
    },
}


def new_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


async def in_language(new_context: ContextFactory, language: str) -> Page:
    """A page of a fresh browser profile whose language is `language`."""
    return await (await new_context(locale=TEXTS[language]["locale"])).new_page()


async def no_english(page: Page, language: str) -> None:
    """In Spanish, nothing on the screen is left in English (the toasts included)."""
    if language == "es":
        assert await english_left(page) == []


async def open_account(page: Page, language: str = "en") -> None:
    name = TEXTS[language]["account"]
    await page.get_by_role("link", name=name).click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    await expect(page.locator("section[aria-labelledby='keys-title'] .table-wrap")).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_two_factor_is_set_up_with_a_qr_code_and_asked_for_at_the_next_sign_in(
    new_context: ContextFactory, admin_api: Api, language: str
) -> None:
    text = TEXTS[language]
    email = new_email("mia")
    create_user(admin_api, email, "Mia Factor")
    page = await in_language(new_context, language)
    await sign_in(page, email, PASSWORD, language)
    await open_account(page, language)
    await no_english(page, language)
    await page.get_by_role("button", name=text["set_up"]).click()
    qr = page.get_by_role("img", name=text["qr"])
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    await no_english(page, language)
    secret = await page.get_by_test_id("mfa-secret").text_content()
    assert secret
    await page.get_by_label(text["code"], exact=True).fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name=text["confirm"]).click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    await expect(codes).to_have_count(10)
    await no_english(page, language)
    recovery = (await codes.first.text_content() or "").strip()
    await page.get_by_role("button", name=text["done"]).click()
    await expect(page.get_by_test_id("recovery-codes")).to_have_count(0)
    await expect(page.get_by_role("button", name=text["turn_off"])).to_be_visible()
    await no_english(page, language)

    await page.get_by_role("button", name=text["sign_out"], exact=True).first.click()
    await page.get_by_label(text["email"]).fill(email)
    await page.get_by_label(text["password"]).fill(PASSWORD)
    await page.get_by_role("button", name=text["sign_in"]).click()
    await expect(page.get_by_role("button", name=text["verify"])).to_be_visible()
    await no_english(page, language)
    await page.get_by_label(text["code"], exact=True).fill(recovery)
    await page.get_by_role("button", name=text["verify"]).click()
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_temporary_password_is_changed_before_anything_else(
    new_context: ContextFactory, admin_api: Api, language: str
) -> None:
    text = TEXTS[language]
    email = new_email("tom")
    user_id = create_user(admin_api, email, "Tom Temporal")
    reset = admin_api.call("PUT", f"/users/{user_id}/resetPassword")
    assert isinstance(reset, dict)
    page = await in_language(new_context, language)
    await page.goto("/admin")
    await page.get_by_label(text["email"]).fill(email)
    await page.get_by_label(text["password"]).fill(reset["temporaryPassword"])
    await page.get_by_role("button", name=text["sign_in"]).click()
    await expect(page.get_by_text(text["temporary"])).to_be_visible()
    await expect(page.get_by_role("link", name=text["account"])).to_have_count(0)
    await no_english(page, language)
    await page.get_by_label(text["current"]).fill(reset["temporaryPassword"])
    await page.get_by_label(text["new"]).fill("my-own-password-2")
    await page.get_by_role("button", name=text["change"]).click()
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")
    await expect(page.get_by_role("link", name=text["account"])).to_be_visible()
    await no_english(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_sign_out_everywhere_else_ends_the_other_browsers_session(
    new_context: ContextFactory, admin_api: Api, language: str
) -> None:
    text = TEXTS[language]
    email = new_email("sol")
    create_user(admin_api, email, "Sol Solana")
    here = await in_language(new_context, language)
    there = await in_language(new_context, language)
    await sign_in(there, email, PASSWORD, language)
    await sign_in(here, email, PASSWORD, language)
    await open_account(here, language)
    sessions = here.locator("section[aria-labelledby='account-sessions'] tbody tr")
    await expect(sessions).to_have_count(2)
    await no_english(here, language)
    await here.get_by_role("button", name=text["others"]).click()
    await expect(sessions).to_have_count(1)
    await expect(there.get_by_role("button", name=text["sign_in"])).to_be_visible()
    await expect(here.locator(".connection")).to_have_attribute("data-state", "online")
    await no_english(here, language)
    await no_english(there, language)


async def test_the_check_for_english_finds_it_on_an_english_screen(
    new_context: ContextFactory,
) -> None:
    """What the Spanish runs rely on: the check sees English where there is some."""
    page = await in_language(new_context, "en")
    await page.goto("/admin")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert {"Email", "Password", "Sign in", "Sign in to SEAM API"} <= set(await english_left(page))
