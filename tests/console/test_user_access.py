"""The users page's Access dialog in a real browser: an administrator sees a user's sessions,
API keys and second factor, revokes a key, and is offered "Clear 2FA" only for a user who has
a second factor; in English and Spanish."""

from __future__ import annotations

import uuid

import httpx
import pyotp
from playwright.async_api import Locator, Page, expect

from tests.console.conftest import (
    Api,
    ContextFactory,
    Server,
    create_user,
    english_left,
    sign_in,
)

PASSWORD = "secret-pass-1"


def new_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def as_user(server: Server, email: str) -> Api:
    answer = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    return Api(server, answer.json()["data"]["token"])


def with_mfa(api: Api) -> None:
    enrolment = api.call("POST", "/auth/mfa/totp")
    assert isinstance(enrolment, dict)
    api.call("POST", "/auth/mfa/totp/confirm", {"code": pyotp.TOTP(enrolment["secret"]).now()})


async def open_access(page: Page, email: str, button: str, title: str) -> Locator:
    """The user's row's Access button, and the dialog it opens (`title` names it)."""
    row = page.locator("tbody tr", has=page.get_by_role("cell", name=email, exact=True))
    await row.get_by_role("button", name=button).click()
    dialog = page.get_by_role("dialog", name=title)
    await expect(dialog).to_be_visible()
    return dialog


async def test_an_administrator_revokes_a_users_key_and_clears_their_second_factor(
    new_context: ContextFactory, admin_api: Api, server: Server
) -> None:
    email = new_email("kim")
    kim = create_user(admin_api, email, "Kim Keys")
    owner = as_user(server, email)
    key = owner.call("POST", "/auth/keys", {"name": "nightly-export", "permissions": []})
    assert isinstance(key, dict)
    owner.call("POST", "/auth/keys", {"name": "kept", "permissions": []})
    with_mfa(owner)
    owner.close()
    page = await (await new_context()).new_page()
    await sign_in(page)

    dialog = await open_access(page, email, "Access", f"Access of {email}")
    keys = dialog.locator("section[aria-labelledby='access-keys'] tbody tr")
    await expect(keys).to_have_count(2)
    revoked = keys.filter(has_text="nightly-export")
    await expect(revoked.locator("td")).to_have_text(
        ["nightly-export", "0", "Never", "Not yet", "Revoke"]
    )
    await revoked.get_by_role("button", name="Revoke").click()
    confirm = page.get_by_role("dialog", name="Are you sure?")
    await expect(confirm).to_contain_text("Revoke the key nightly-export of")
    await confirm.get_by_role("button", name="Revoke").click()
    await expect(keys).to_have_count(1)
    await expect(keys).to_contain_text("kept")
    async with httpx.AsyncClient(base_url=server.url) as http:
        gone = await http.get("/api/v1/roles", headers={"Authorization": f"Bearer {key['key']}"})
    assert gone.status_code == 401

    mfa = dialog.get_by_test_id("user-mfa")
    await expect(mfa).to_have_text("On: signing in asks for a code from their authenticator app.")
    await dialog.get_by_role("button", name="Clear 2FA").click()
    await (
        page.get_by_role("dialog", name="Are you sure?")
        .get_by_role("button", name="Clear 2FA")
        .click()
    )
    await expect(mfa).to_have_text("Off: nothing to clear.")
    await expect(dialog.get_by_role("button", name="Clear 2FA")).to_have_count(0)
    assert admin_api.call("GET", f"/users/{kim}/mfa") == {"mfaEnabled": False}


async def test_clear_2fa_is_not_offered_for_a_user_without_a_second_factor(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = new_email("noa")
    create_user(admin_api, email, "Noa Nofactor")
    page = await (await new_context()).new_page()
    await sign_in(page)

    dialog = await open_access(page, email, "Access", f"Access of {email}")

    await expect(dialog.get_by_test_id("user-mfa")).to_have_text("Off: nothing to clear.")
    await expect(dialog.get_by_role("button", name="Clear 2FA")).to_have_count(0)
    # Nor anywhere on the page: the row offers no such action of its own.
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("button", name="Clear 2FA")).to_have_count(0)


async def test_the_access_dialog_speaks_spanish(
    new_context: ContextFactory, admin_api: Api, server: Server
) -> None:
    email = new_email("sol")
    create_user(admin_api, email, "Sol Clave")
    owner = as_user(server, email)
    owner.call("POST", "/auth/keys", {"name": "copia", "permissions": []})
    with_mfa(owner)
    owner.close()
    page = await (await new_context(locale="es-ES")).new_page()
    await sign_in(page, language="es")

    dialog = await open_access(page, email, "Acceso", f"Acceso de {email}")

    for heading in ("Sesiones", "Claves de API", "Autenticación de dos factores"):
        await expect(dialog.get_by_role("heading", name=heading)).to_be_visible()
    row = dialog.locator("section[aria-labelledby='access-keys'] tbody tr")
    await expect(row.locator("td")).to_have_text(["copia", "0", "Nunca", "Aún no", "Revocar"])
    await expect(dialog.get_by_test_id("user-mfa")).to_contain_text("Activada")
    await expect(dialog.get_by_role("button", name="Quitar 2FA")).to_be_visible()
    assert await english_left(page) == []
