"""The console's passwords by email and API keys, in a real browser: "Forgot password?" only
where mail is configured, the emailed link's page setting a new password that then signs in,
and the API keys section creating a key shown once and revoking it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import expect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, free_port, login, start_server
from tests.console.conftest import Api, ContextFactory, Server, create_user, sign_in
from tests.mailbox import Inbox

LINK = re.compile(r"http://\S+/admin/reset#token=[A-Za-z0-9_-]+")


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    received, port = Inbox(), free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    yield received, port
    controller.stop()


@pytest.fixture(scope="module")
def mail_server(
    tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, int]
) -> Iterator[Server]:
    """A real server that sends its mail to the test's SMTP server; its links point at itself."""
    port = free_port()
    running = start_server(
        tmp_path_factory.mktemp("mail-server"),
        {
            "SEAM_SMTP_URL": f"smtp://127.0.0.1:{inbox[1]}",
            "SEAM_PUBLIC_URL": f"http://127.0.0.1:{port}",
        },
        port=port,
    )
    yield running
    running.stop()


async def test_forgot_password_is_not_offered_without_mail(new_context: ContextFactory) -> None:
    page = await (await new_context()).new_page()
    await page.goto("/admin")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.wait_for_load_state("networkidle")

    await expect(page.get_by_role("button", name="Forgot password?")).to_have_count(0)


async def test_an_emailed_link_sets_a_new_password_that_signs_in(
    new_context: ContextFactory, mail_server: Server, inbox: tuple[Inbox, int]
) -> None:
    async with httpx.AsyncClient(base_url=mail_server.url) as http:
        token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    api = Api(mail_server, token)
    email = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    create_user(api, email, "Forgetful Reader")
    api.close()
    page = await (await new_context(base_url=mail_server.url)).new_page()

    await page.goto("/admin")
    await page.get_by_role("button", name="Forgot password?").click()
    await page.get_by_label("Your account's email").fill(email)
    await page.get_by_role("button", name="Send the link").click()
    notice = page.locator("p.notice")  # the answer's message, beside its toast
    await expect(notice).to_have_text("If the account exists, an email with a link is on its way")
    (received,) = await inbox[0].wait_for(1)
    link = LINK.search(received.part("plain"))
    assert link, received.part("plain")

    await page.goto(link.group(0))
    await expect(page).to_have_url(re.compile(r"/admin/reset$"))  # the token left the address
    await page.get_by_label("New password", exact=True).fill("brand-new-pass-1")
    await page.get_by_label("New password again").fill("brand-new-pass-1")
    await page.get_by_role("button", name="Save the password").click()
    await expect(page.locator("p.notice")).to_have_text("Password set; sign in with it")
    await page.get_by_role("button", name="Go to sign in").click()

    await sign_in(page, email, "brand-new-pass-1")


async def test_an_import_can_invite_each_new_user_by_email(
    new_context: ContextFactory, mail_server: Server, inbox: tuple[Inbox, int]
) -> None:
    tag = uuid.uuid4().hex[:8]
    page = await (await new_context(base_url=mail_server.url)).new_page()
    await sign_in(page)
    await page.get_by_role("button", name="Import CSV").click()
    dialog = page.get_by_role("dialog")
    rows = f"full_name,email\r\nFirst Guest,guest1-{tag}@example.com\r\n"
    rows += f"Second Guest,guest2-{tag}@example.com\r\n"
    upload = {"name": "users.csv", "mimeType": "text/csv", "buffer": rows.encode()}
    await dialog.get_by_label("CSV file").set_input_files(upload)
    await dialog.get_by_label("Email each new user an invitation").check()
    before = len(inbox[0].received)
    await dialog.get_by_role("button", name="Import 2 users").click()

    await expect(dialog.get_by_role("status")).to_contain_text("emailed an invitation")
    await expect(dialog.locator("code.secret")).to_have_count(0)  # no temporary password
    received = await inbox[0].wait_for(before + 2)
    invited = {mail.message["To"] for mail in received if tag in mail.message["To"]}
    assert len(invited) == 2, invited


# The section is the "My account" page's (pages/account.js, which includes it); until then the
# test mounts it beside the console, as that page will, in the console's own module graph.
MOUNT_KEYS_SECTION = """async () => {
  const { html, render } = await import('/admin/static/js/lib.js');
  const { ApiKeysSection } = await import('/admin/static/js/pages/account-keys.js');
  const host = document.createElement('div');
  host.id = 'keys-host';
  document.body.append(host);
  render(html`<${ApiKeysSection} />`, host);
}"""


async def test_the_keys_section_creates_a_key_shown_once_and_revokes_it(
    new_context: ContextFactory, server: Server
) -> None:
    page = await (await new_context(bypass_csp=True)).new_page()
    await sign_in(page)
    await page.evaluate(MOUNT_KEYS_SECTION)
    section = page.locator("#keys-host")
    name = f"robot-{uuid.uuid4().hex[:8]}"

    await section.get_by_role("button", name="New API key").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Name").fill(name)
    await dialog.get_by_role("checkbox", name="GET /api/v1/users", exact=True).check()
    await dialog.get_by_role("button", name="Create").click()
    key = await page.get_by_test_id("api-key").inner_text()
    assert key.startswith("seam_")
    await page.get_by_role("button", name="Done").click()

    async def status_with_key() -> int:
        async with httpx.AsyncClient(base_url=server.url) as http:
            return (await http.get("/api/v1/users", headers=bearer(key))).status_code

    assert await status_with_key() == 200
    row = section.get_by_role("row").filter(has_text=name)
    await expect(row).to_contain_text("GET /api/v1/users")
    await expect(page.get_by_test_id("api-key")).to_have_count(0)  # shown only that once

    await row.get_by_role("button", name="Revoke").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    await expect(row).to_have_count(0)
    assert await status_with_key() == 401
