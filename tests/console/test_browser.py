"""The console in a real browser: signing in, live tables, permissions, safety, recovery."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

import httpx
from playwright.async_api import Locator, Page, expect

from tests.console.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Api,
    ContextFactory,
    Server,
    create_role_with,
    create_user,
    sign_in,
)


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


def user_row(page: Page, email: str) -> Locator:
    return page.locator("tbody tr", has=page.get_by_role("cell", name=email, exact=True))


# Snapshots of the loader's steps and the toasts, in the order the page showed them.
RECORD_FEEDBACK = """() => {
  window.feedback = [];
  const snapshot = () => {
    const loader = document.querySelector('.loader').innerText.trim();
    const toasts = [...document.querySelectorAll('.toast')].map((toast) => toast.innerText);
    const last = window.feedback[window.feedback.length - 1];
    const next = JSON.stringify({ loader, toasts });
    if (next !== last) window.feedback.push(next);
  };
  new MutationObserver(snapshot).observe(document.body, {
    subtree: true, childList: true, characterData: true,
  });
}"""


async def test_an_edit_in_one_tab_shows_in_another_without_reload_and_its_steps_in_the_first(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = f"{unique('bob')}@example.com"
    create_user(admin_api, email, "Bob Before")
    editor = await (await new_context()).new_page()
    watcher = await (await new_context()).new_page()
    await sign_in(editor)
    await sign_in(watcher)
    await expect(user_row(watcher, email)).to_contain_text("Bob Before")

    await editor.evaluate(RECORD_FEEDBACK)
    await user_row(editor, email).get_by_role("button", name="Edit").click()
    await editor.get_by_label("Full name").fill("Bob After")
    await editor.get_by_role("button", name="Save").click()

    await expect(user_row(watcher, email)).to_contain_text("Bob After")
    await expect(editor.locator(".toast.success")).to_contain_text("User updated successfully")
    await expect(editor.locator(".loader")).to_have_text("")
    shown = [json.loads(entry) for entry in await editor.evaluate("window.feedback")]
    steps = [entry["loader"] for entry in shown]
    assert any("Saving changes..." in step for step in steps), shown
    first_step = next(i for i, entry in enumerate(shown) if "Updating user..." in entry["loader"])
    first_toast = next(i for i, entry in enumerate(shown) if entry["toasts"])
    assert first_step < first_toast, shown
    assert shown[-1]["loader"] == "", shown


async def test_a_role_holding_only_the_user_list_sees_the_table_and_nothing_else(
    new_context: ContextFactory, admin_api: Api
) -> None:
    role_id = create_role_with(admin_api, unique("viewers"), "GET /api/v1/users")
    email = f"{unique('viewer')}@example.com"
    create_user(admin_api, email, "Vera Viewer", role_id)
    page = await (await new_context()).new_page()
    await sign_in(page, email, "secret-pass-1")

    await expect(user_row(page, email)).to_contain_text("Vera Viewer")
    navigation = page.get_by_role("navigation", name="Console")
    await expect(navigation.get_by_role("link")).to_have_count(2)  # and everyone's own account
    await expect(navigation.get_by_role("link", name="Users")).to_be_visible()
    await expect(navigation.get_by_role("link", name="My account")).to_be_visible()
    # Reading only: the list's own controls (sorting, paging, export), no action on a row.
    await expect(page.locator("main tbody button")).to_have_count(0)
    await expect(page.locator("main tbody input[type=checkbox]")).to_have_count(0)
    for absent in ("New user", "Import CSV"):
        await expect(page.get_by_role("button", name=absent)).to_have_count(0)
    # A page the role cannot use is not shown even when its address is typed.
    await page.goto("/admin/roles")
    await expect(page).to_have_url(re.compile(r"/admin/users$"))
    await expect(page.get_by_role("heading", name="Roles")).to_have_count(0)


async def test_a_name_made_of_markup_is_shown_as_text(
    new_context: ContextFactory, admin_api: Api
) -> None:
    name = "<img src=x onerror=alert(1)>"
    email = f"{unique('xss')}@example.com"
    create_user(admin_api, email, name)
    page = await (await new_context()).new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await sign_in(page)
    await expect(user_row(page, email).locator("td.name")).to_have_text(name)
    await expect(page.locator("main img")).to_have_count(0)
    assert dialogs == []


async def test_the_console_is_served_with_a_strict_content_security_policy(
    new_context: ContextFactory,
) -> None:
    page = await (await new_context()).new_page()
    response = await page.goto("/admin/users")
    assert response is not None
    policy = await response.header_value("content-security-policy")
    assert policy is not None
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # The page works under it: the sign-in form was rendered by the module scripts.
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()


async def test_a_change_made_while_the_socket_was_cut_shows_after_reconnecting(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = f"{unique('cut')}@example.com"
    user_id = create_user(admin_api, email, "Carla Before")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await expect(user_row(page, email)).to_contain_text("Carla Before")

    # Cut the transport (as a network drop would) and hold the reconnect until the change below
    # is made, so it surely happens while this tab is away.
    await page.evaluate("seam.socket.io.reconnection(false); seam.socket.io.engine.close()")
    await expect(page.locator(".connection")).not_to_have_attribute("data-state", "online")
    admin_api.call("PUT", f"/users/{user_id}", {"full_name": "Carla After"})
    await page.evaluate("seam.socket.io.reconnection(true); seam.socket.connect()")

    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")
    await expect(user_row(page, email)).to_contain_text("Carla After")
    # The stock client's connection state recovery brought it, not a reload of the table.
    assert await page.evaluate("seam.socket.recovered") is True


async def test_a_failed_sign_in_shows_the_servers_message_in_the_chosen_language(
    new_context: ContextFactory,
) -> None:
    page = await (await new_context(locale="es-ES")).new_page()
    await page.goto("/admin")
    await page.get_by_label("Correo").fill("nobody@example.com")
    await page.get_by_label("Contraseña").fill("wrong-password")
    await page.get_by_role("button", name="Entrar").click()
    await expect(page.get_by_role("alert")).to_have_text("Credenciales inválidas")


async def test_repeated_failed_sign_ins_show_the_servers_429_message(
    new_context: ContextFactory,
) -> None:
    page = await (await new_context()).new_page()
    await page.goto("/admin")
    await page.get_by_label("Email").fill(f"{unique('mallory')}@example.com")
    await page.get_by_label("Password").fill("guessing")
    sign_in_button = page.get_by_role("button", name="Sign in")
    for _attempt in range(5):  # the server's default allowance per account
        async with page.expect_response("**/api/v1/auth/login") as answer:
            await sign_in_button.click()
        assert (await answer.value).status == 401
        await expect(page.get_by_role("alert")).to_have_text("Invalid credentials")
    async with page.expect_response("**/api/v1/auth/login") as answer:
        await sign_in_button.click()
    assert (await answer.value).status == 429
    await expect(page.get_by_role("alert")).to_have_text(
        "Too many failed login attempts; try again later"
    )


async def test_an_edit_form_warns_when_someone_else_changes_its_record(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = f"{unique('dora')}@example.com"
    user_id = create_user(admin_api, email, "Dora Before")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await user_row(page, email).get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Full name").fill("Dora Mine")

    admin_api.call("PUT", f"/users/{user_id}", {"full_name": "Dora Theirs"})

    await expect(dialog.get_by_role("alert")).to_contain_text("changed by")
    await expect(dialog.get_by_role("button", name="Save")).to_be_disabled()
    await dialog.get_by_role("button", name="Reload the record").click()
    await expect(dialog.get_by_label("Full name")).to_have_value("Dora Theirs")
    await expect(dialog.get_by_role("button", name="Save")).to_be_enabled()


async def test_a_password_reset_shows_the_temporary_password_once(
    new_context: ContextFactory, admin_api: Api, server: Server
) -> None:
    email = f"{unique('eve')}@example.com"
    create_user(admin_api, email, "Eve Reset")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await user_row(page, email).get_by_role("button", name="Reset password").click()
    await page.get_by_role("dialog").get_by_role("button", name="Reset password").click()
    password = await page.get_by_test_id("temporary-password").text_content()
    assert password
    async with httpx.AsyncClient(base_url=server.url) as http:
        signed_in = await http.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
    assert signed_in.status_code == 200
    await page.get_by_role("button", name="Done").click()
    await expect(page.get_by_test_id("temporary-password")).to_have_count(0)


async def test_a_permission_created_here_is_checked_into_a_role_and_out_again(
    new_context: ContextFactory, admin_api: Api
) -> None:
    role_name = unique("auditors")
    role_id = create_role_with(admin_api, role_name)
    name_uri = f"GET /api/v1/{unique('reports')}"
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.get_by_role("link", name="Permissions").click()
    await page.get_by_role("button", name="New permission").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Permission (METHOD").fill(name_uri)
    await dialog.get_by_label("Description").fill("Read the reports")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("cell", name=name_uri)).to_be_visible()

    await page.get_by_role("link", name="Roles").click()
    await page.get_by_role("row", name=role_name).get_by_role("button", name="Permissions").click()
    # Grouped by resource, the action as the column; the raw route shows on hover.
    box = page.get_by_role("checkbox", name=f"{name_uri.split('/')[-1]}: List")
    await expect(box).to_have_attribute("title", name_uri)
    toasts = page.locator(".toast.success")
    await box.check()
    await expect(toasts.filter(has_text="Permission assigned successfully")).to_be_visible()
    held = admin_api.call("GET", f"/permission/getByRoleId?roleId={role_id}")
    assert isinstance(held, list)
    assert [permission["nameUri"] for permission in held] == [name_uri]
    await box.uncheck()
    await expect(toasts.filter(has_text="Permission removed from role")).to_be_visible()
    await expect(box).not_to_be_checked()
    assert admin_api.call("GET", f"/permission/getByRoleId?roleId={role_id}") == []


async def test_a_sidebar_item_created_here_is_assigned_to_a_role(
    new_context: ContextFactory, admin_api: Api
) -> None:
    role_name = unique("menu")
    create_role_with(admin_api, role_name)
    item_name = unique("Reports")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.get_by_role("link", name="Sidebar").click()
    await page.get_by_role("button", name="New item").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Name").fill(item_name)
    await dialog.get_by_label("Route").fill("/reports")
    await dialog.get_by_role("button", name="Create").click()
    row = page.get_by_role("row", name=item_name)
    await expect(row).to_be_visible()

    await row.get_by_role("button", name="Roles").click()
    await page.get_by_role("dialog").get_by_label("Role").select_option(label=role_name)
    await page.get_by_role("dialog").get_by_role("button", name="Assign", exact=True).click()
    await expect(row.get_by_role("cell", name=role_name)).to_be_visible()


async def test_the_theme_toggle_overrides_the_systems_scheme_and_is_remembered(
    new_context: ContextFactory,
) -> None:
    page = await (await new_context(color_scheme="light")).new_page()
    await sign_in(page)
    background = "getComputedStyle(document.body).backgroundColor"
    light = await page.evaluate(background)
    await page.get_by_role("button", name="Theme: system (change)").click()
    await page.get_by_role("button", name="Theme: light (change)").click()
    await expect(page.get_by_role("button", name="Theme: dark (change)")).to_be_visible()
    assert await page.evaluate(background) != light
    await page.reload()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")


async def test_the_audit_page_tails_changes_and_shows_them_as_before_and_after(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = f"{unique('fay')}@example.com"
    user_id = create_user(admin_api, email, "Fay Before")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.get_by_role("link", name="Audit").click()
    await expect(page.get_by_role("heading", name="Audit")).to_be_visible()
    await expect(page.locator("main tbody tr").first).to_be_visible()

    admin_api.call("PUT", f"/users/{user_id}", {"full_name": "Fay After"})

    newest = page.locator("main tbody tr").first
    await expect(newest).to_contain_text("user:edit")
    await expect(newest).to_contain_text(f"user {user_id}")
    await newest.get_by_role("button", name="Details").click()
    change = page.get_by_role("dialog").get_by_role("row", name="full_name")
    await expect(change.locator("td.before")).to_have_text("Fay Before")
    await expect(change.locator("td.after")).to_have_text("Fay After")


async def test_the_audit_filters_narrow_the_list_and_the_export_follows_them(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = f"{unique('gus')}@example.com"
    user_id = create_user(admin_api, email, "Gus Filtered")
    admin_api.call("PUT", f"/users/{user_id}/state", {"isActive": 0})
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.get_by_role("link", name="Audit").click()
    await page.get_by_label("Entity", exact=True).select_option("user")
    await page.get_by_label("Entity ID").fill(str(user_id))
    await page.get_by_role("button", name="Apply").click()
    rows = page.locator("main tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("user:setState")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export CSV").click()
    download = await download_info.value
    assert download.suggested_filename == "seam-audit.csv"
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    lines = text.strip().splitlines()
    assert len(lines) == 3  # the header and the two entries of that user
    assert email in "\n".join(lines)


async def test_a_stale_edit_form_names_who_changed_the_record(
    new_context: ContextFactory, admin_api: Api
) -> None:
    email = f"{unique('hal')}@example.com"
    user_id = create_user(admin_api, email, "Hal Before")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await user_row(page, email).get_by_role("button", name="Edit").click()
    admin_api.call("PUT", f"/users/{user_id}", {"full_name": "Hal Theirs"})
    await expect(page.get_by_role("dialog").get_by_role("alert")).to_contain_text(
        f"changed by {ADMIN_EMAIL}"
    )


async def test_the_console_is_usable_by_keyboard_alone(new_context: ContextFactory) -> None:
    page = await (await new_context()).new_page()
    await page.goto("/admin")
    await page.get_by_label("Email").focus()
    await page.keyboard.type(ADMIN_EMAIL)
    await page.keyboard.press("Tab")
    await page.keyboard.type(ADMIN_PASSWORD)
    await page.keyboard.press("Enter")
    roles = page.get_by_role("link", name="Roles")
    await expect(page).to_have_url(re.compile(r"/admin/users$"))
    for _press in range(20):  # through the header to the menu
        if await roles.evaluate("link => link === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1, name="Roles")).to_be_visible()

    new_role = page.get_by_role("button", name="New role")
    await new_role.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog")).to_be_visible()
    await expect(page.get_by_label("Role name")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(new_role).to_be_focused()


async def test_on_a_phone_the_page_fits_the_screen_and_the_table_scrolls_inside_it(
    new_context: ContextFactory,
) -> None:
    page = await (await new_context(viewport={"width": 390, "height": 844})).new_page()
    await sign_in(page)
    await expect(page.locator("main tbody tr").first).to_be_visible()
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await expect(page.get_by_role("link", name="Roles")).to_be_in_viewport()


async def test_on_a_laptop_a_users_row_keeps_its_actions_on_one_line(
    new_context: ContextFactory, admin_api: Api
) -> None:
    # 1,280 px wide: every action of a user another admin may change (five of them) side by
    # side, however long the address or a name in the table.
    email = f"{unique('a-rather-long-address-for-one-person')}@example.com"
    create_user(admin_api, email, "Katherine Johnson-Goble")
    create_user(admin_api, f"{unique('long')}@example.com", "Unbroken" * 12)
    page = await (await new_context()).new_page()
    await sign_in(page)
    buttons = user_row(page, email).get_by_role("button")
    await expect(buttons).to_have_count(5)
    tops = {
        round((await button.bounding_box() or {"y": -1})["y"]) for button in await buttons.all()
    }
    assert len(tops) == 1, tops
    # ... and within the table's width: nothing to scroll sideways to reach them.
    overflow = await buttons.last.evaluate(
        "button => { const box = button.closest('.table-wrap'); "
        "return box.scrollWidth - box.clientWidth; }"
    )
    assert overflow <= 0
