"""/docs and /redoc under a strict Content-Security-Policy (no framing, scripts from this origin
or the pages' own hashed bootstrap): they still render in a real browser, with no violation."""

from __future__ import annotations

import pytest
from playwright.async_api import ConsoleMessage, expect

from tests.console.conftest import ContextFactory


@pytest.mark.parametrize(
    ("path", "title"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")],
)
async def test_the_api_docs_render_under_a_strict_policy(
    new_context: ContextFactory, path: str, title: str
) -> None:
    context = await new_context()
    page = await context.new_page()
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    response = await page.goto(path)
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("style-src")[0]
    assert policy.count("https:") == 1 and "img-src 'self' data: https://cdn.redoc.ly;" in policy
    await expect(page.locator(title).first).to_contain_text("SEAM API")
    assert violations == []
