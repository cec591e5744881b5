"""Browser fixtures: Debian's chromium driven by Playwright (no browser download), against a
real `seam-api serve` process.

Without chromium the browser tests skip with the reason; under CI=true that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from seam_api.messages import CATALOGUES
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, unavailable

CHROMIUM = os.environ.get("SEAM_TEST_CHROMIUM", "/usr/bin/chromium")
I18N = Path(__file__).parents[2] / "src" / "seam_api" / "console" / "static" / "js" / "i18n.js"
# The UI answers within milliseconds; the margin is for a loaded two-core machine.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", FileNotFoundError(f"{CHROMIUM} (apt-get install chromium)"))
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        await launched.close()


@pytest.fixture
def backend() -> str:
    """The console's tests need one database, not each backend: it never touches SQL."""
    return "sqlite"


ContextFactory = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def new_context(browser: Browser, server: Server) -> AsyncIterator[ContextFactory]:
    """Fresh browser profiles (separate storage: one per signed-in person). An exception
    thrown in any of their pages fails the test."""
    opened: list[BrowserContext] = []
    page_errors: list[str] = []

    async def factory(**options: object) -> BrowserContext:
        defaults: dict[str, Any] = {
            "base_url": server.url,
            "locale": "en-US",
            "viewport": {"width": 1280, "height": 800},
        }
        context = await browser.new_context(**{**defaults, **options})
        context.on("weberror", lambda error: page_errors.append(str(error.error)))
        opened.append(context)
        return context

    yield factory
    for context in opened:
        await context.close()
    assert page_errors == [], "the console threw in the browser"


# The sign-in form's email and password labels and its button, in each language.
SIGN_IN_FORM = {"en": ("Email", "Password", "Sign in"), "es": ("Correo", "Contraseña", "Entrar")}


async def sign_in(
    page: Page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, language: str = "en"
) -> None:
    """Sign in through the console's form (in the page's `language`) and wait for the live
    connection."""
    email_label, password_label, button = SIGN_IN_FORM[language]
    await page.goto("/admin")
    await page.get_by_label(email_label).fill(email)
    await page.get_by_label(password_label).fill(password)
    await page.get_by_role("button", name=button).click()
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")
    # Upgraded from long-polling to WebSocket: one event per message from here on. Polled from
    # here: wait_for_function's own polling builds a function from a string in the page, which
    # the console's CSP (no eval) refuses whenever the first check is not already true.
    for _ in range(200):
        if await page.evaluate("seam.socket.io.engine.transport.name") == "websocket":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the console's socket never upgraded to websocket")


class Api:
    """The HTTP API as a test's own admin (not the browser's), to set the scene."""

    def __init__(self, server: Server, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}
        )

    def call(self, method: str, path: str, body: object = None) -> object:
        response = self.http.request(method, path, json=body)
        assert response.is_success, response.text
        return response.json()["data"]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def admin_api(server: Server) -> Iterator[Api]:
    response = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    api = Api(server, response.json()["data"]["token"])
    yield api
    api.close()


def create_role_with(api: Api, role_name: str, *name_uris: str) -> int:
    """A role holding exactly `name_uris`; returns its id."""
    role = api.call("POST", "/roles", {"roleName": role_name, "description": "for a test"})
    assert isinstance(role, dict)
    for name_uri in name_uris:
        found = api.call("GET", f"/permission/getByNameUri?nameUri={name_uri}")
        assert isinstance(found, list)
        api.call(
            "POST",
            "/permission/assign",
            {"roleId": role["idRole"], "permissionId": found[0]["idPermission"]},
        )
    return int(role["idRole"])


def create_user(api: Api, email: str, full_name: str, role_id: int | None = None) -> int:
    body: dict[str, object] = {"full_name": full_name, "email": email, "password": "secret-pass-1"}
    if role_id is not None:
        body["roleId"] = role_id
    user = api.call("POST", "/auth/register", body)
    assert isinstance(user, dict)
    return int(user["idUser"])


def console_catalogues() -> dict[str, dict[str, str]]:
    """The console's own texts by language, read from i18n.js as the browser gets it."""
    source = I18N.read_text()
    english, spanish = source.split("\n  es: {", 1)
    entry = re.compile(r"^    '([\w.]+)': '((?:[^'\\]|\\.)*)',$", re.MULTILINE)
    return {
        language: {key: text.replace("\\'", "'") for key, text in entry.findall(part)}
        for language, part in (("en", english), ("es", spanish))
    }


@cache
def _english_only() -> tuple[re.Pattern[str], ...]:
    """Each English text of the console and the server that Spanish words otherwise, as a
    pattern for its fixed parts (the parts around `{placeholders}`) standing as words."""
    found: set[str] = set()
    for catalogues in (console_catalogues(), CATALOGUES):
        for key, english in catalogues["en"].items():
            if english == catalogues["es"].get(key):
                continue
            found |= {part.strip() for part in re.split(r"\{\w+\}", english)}
    return tuple(
        re.compile(rf"(?<!\w){re.escape(part)}(?!\w)") for part in sorted(found) if len(part) > 2
    )


async def english_left(page: Page) -> list[str]:
    """The English texts a page in Spanish still shows: in its visible text, its title, or
    the labels, titles and image texts that name its parts to assistive technology."""
    shown = await page.locator("body").inner_text()
    labels = await page.eval_on_selector_all(
        "[aria-label], [title], [placeholder], img[alt]",
        "nodes => nodes.flatMap(n => ['aria-label', 'title', 'placeholder', 'alt']"
        ".map(name => n.getAttribute(name))).filter(Boolean)",
    )
    text = "\n".join([shown, await page.title(), *labels])
    return sorted(
        {match.group(0) for pattern in _english_only() for match in pattern.finditer(text)}
    )
