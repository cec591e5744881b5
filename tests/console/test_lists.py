"""The console's lists in a real browser: search, sort, bulk actions, CSV round trip, a
delegated role without dead ends, the sidebar's whole picture, phones and Spanish."""

from __future__ import annotations

import re
import sqlite3

from playwright.async_api import expect

from seam_api.security.credentials import PASSWORD_HASHER
from tests.console.conftest import (
    Api,
    ContextFactory,
    Server,
    create_role_with,
    create_user,
    sign_in,
)
from tests.console.test_browser import unique, user_row


async def test_a_role_of_two_permissions_edits_a_user_without_a_dead_end(
    new_context: ContextFactory, admin_api: Api
) -> None:
    editors = create_role_with(
        admin_api, unique("editors"), "GET /api/v1/users", "PUT /api/v1/users/:id"
    )
    editor_email = f"{unique('editor')}@example.com"
    create_user(admin_api, editor_email, "Eddie Editor", editors)
    target_email = f"{unique('target')}@example.com"
    target_id = create_user(admin_api, target_email, "Tess Before")
    page = await (await new_context()).new_page()
    await sign_in(page, editor_email, "secret-pass-1")
    await page.get_by_role("searchbox", name="Search").fill(target_email)
    row = user_row(page, target_email)
    # Only what will work: editing, not the state, reset or delete it lacks.
    await expect(row.get_by_role("button")).to_have_count(1)
    await row.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog")
    roles = await dialog.get_by_label("Role").locator("option").all_inner_texts()
    assert "admin" not in roles  # beyond this role's reach: not offered

    admin_api.call("PUT", f"/users/{target_id}", {"full_name": "Tess Theirs"})
    await expect(dialog.get_by_role("alert").first).to_contain_text("changed by")
    await dialog.get_by_role("button", name="Reload the record").click()
    await expect(dialog.get_by_label("Full name")).to_have_value("Tess Theirs")
    save = dialog.get_by_role("button", name="Save")
    await expect(save).to_be_enabled()
    await dialog.get_by_label("Full name").fill("Tess Mine")
    await save.click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(row).to_contain_text("Tess Mine")


def add_users_directly(server: Server, people: list[tuple[str, str]]) -> None:
    """Users written straight into the server's SQLite file, in the default role. Through the
    API each costs an Argon2 hash (minutes for 300 on a shared two-core machine); searched,
    filtered and counted lists are not cached, so the server reads them at once."""
    database = server.log.parent / "seam.db"
    password_hash = PASSWORD_HASHER.hash("secret-pass-1")
    with sqlite3.connect(database) as conn:
        (role_id,) = conn.execute("SELECT id_role FROM roles WHERE role_name = 'user'").fetchone()
        conn.executemany(
            "INSERT INTO users (full_name, email, password_hash, role_id, is_active, token_version)"
            " VALUES (?, ?, ?, ?, 1, 0)",
            [(name, email, password_hash, role_id) for name, email in people],
        )


async def test_search_sort_and_a_bulk_disable_over_300_users(
    new_context: ContextFactory, admin_api: Api, server: Server
) -> None:
    tag = unique("bulk")
    add_users_directly(
        server, [(f"Bulk Person {n:03d}", f"{tag}-{n:03d}@example.com") for n in range(300)]
    )
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.get_by_role("searchbox", name="Search").fill(tag)
    await expect(page.locator(".pager")).to_contain_text("(300 in all)")
    await page.get_by_role("button", name="Email").click()
    await page.get_by_role("button", name="Email").click()  # again: descending
    await expect(page.locator("main tbody tr").first).to_contain_text(f"{tag}-299@example.com")
    await page.get_by_role("checkbox", name="Select every user on this page").check()
    await page.get_by_role("button", name="Select all 300 matching").click()
    await (
        page.get_by_role("region", name="Bulk actions")
        .get_by_role("button", name="Disable")
        .click()
    )
    await page.get_by_role("dialog").get_by_role("button", name="Disable").click()
    await expect(page.locator(".toasts")).to_contain_text("Done: 300 users", timeout=120_000)
    disabled = admin_api.http.get(
        "/users", params={"search": tag, "isActive": 0, "withTotal": "true", "limit": 1}
    ).json()
    assert disabled["meta"]["total"] == 300


async def test_a_csv_round_trip_names_the_bad_row_then_imports_the_fixed_file(
    new_context: ContextFactory, admin_api: Api
) -> None:
    tag = unique("csv")
    create_user(admin_api, f"{tag}-old@example.com", "Old Timer")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.get_by_role("searchbox", name="Search").fill(tag)
    await expect(page.locator("main tbody tr")).to_have_count(1)
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export CSV").click()
    exported = (await (await download.value).path()).read_text()
    assert exported.splitlines()[0] == "idUser,full_name,email,roleId,roleName,isActive"
    assert f"{tag}-old@example.com" in exported

    bad = f'full_name,email\r\nNew One,{tag}-1@example.com\r\n"  ",{tag}-2@localhost\r\n'
    await page.get_by_role("button", name="Import CSV").click()
    dialog = page.get_by_role("dialog")
    upload = {"name": "users.csv", "mimeType": "text/csv"}
    await dialog.get_by_label("CSV file").set_input_files({**upload, "buffer": bad.encode()})
    await expect(dialog.locator("tr[data-row='2']")).to_have_count(2)  # name and email
    await expect(dialog.locator("tr[data-row='2']").first).to_contain_text("Name must be")
    commit = dialog.get_by_role("button", name=re.compile(r"^Import \d+ users$"))
    await expect(commit).to_be_disabled()

    fixed = f"full_name,email\r\nNew One,{tag}-1@example.com\r\nNew Two,{tag}-2@example.com\r\n"
    await dialog.get_by_label("CSV file").set_input_files({**upload, "buffer": fixed.encode()})
    await expect(commit).to_be_enabled()
    await commit.click()
    await expect(dialog.locator("code.secret")).to_have_count(2)
    await dialog.get_by_role("button", name="Done").click()
    await expect(page.locator("main tbody tr")).to_have_count(3)


async def test_the_sidebar_page_shows_every_item_and_its_roles_after_a_reload(
    new_context: ContextFactory, admin_api: Api
) -> None:
    role_name = unique("menu-role")
    role_id = create_role_with(admin_api, role_name)
    item = admin_api.call("POST", "/sidebar", {"nameItem": unique("Reports"), "route": "/r"})
    assert isinstance(item, dict)
    admin_api.call("POST", f"/sidebar/{item['idItem']}/role/{role_id}")
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.goto("/admin/sidebar")
    await page.reload()
    row = page.locator("tbody tr", has=page.get_by_role("cell", name=item["nameItem"]))
    await expect(row).to_contain_text(role_name)


async def test_on_a_390_px_screen_no_page_scrolls_sideways(new_context: ContextFactory) -> None:
    page = await (await new_context(viewport={"width": 390, "height": 844})).new_page()
    await sign_in(page)
    links = page.get_by_role("navigation", name="Console").get_by_role("link")
    names = await links.all_inner_texts()
    assert len(names) == 6  # the five pages and My account
    for name in names:
        await links.filter(has_text=name).click()
        await expect(page.locator("main h1")).to_be_visible()
        await page.wait_for_load_state("networkidle")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, name
    await links.filter(has_text="Users").click()
    first = page.locator("main tbody tr").first
    await expect(first.get_by_role("button", name="Edit")).to_be_in_viewport()


async def test_the_console_in_spanish_has_no_english_left_in_the_menu(
    new_context: ContextFactory,
) -> None:
    page = await (await new_context()).new_page()
    await sign_in(page)
    await page.evaluate("localStorage.setItem('seam.locale', 'es')")
    await page.reload()
    links = page.get_by_role("navigation", name="Consola").get_by_role("link")
    await expect(links).to_have_text(
        ["Usuarios", "Roles", "Permisos", "Menú lateral", "Auditoría", "Mi cuenta"]
    )
