"""The sidebar routes (reference §4): the caller's menu, items, and which roles see them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import API, chained, create_role, data, edit_at_once, failure, member, unique

ITEM_FIELDS = {"idItem", "nameItem", "iconItem", "route"}


async def create_item(http: httpx.AsyncClient, admin: dict[str, str], **fields: Any) -> Any:
    body = {"nameItem": unique("item"), **fields}
    return data(await http.post(f"{API}/sidebar", headers=admin, json=body), 201)


async def assign(http: httpx.AsyncClient, admin: dict[str, str], item_id: int, role_id: int) -> Any:
    return data(await http.post(f"{API}/sidebar/{item_id}/role/{role_id}", headers=admin), 201)


async def menu(http: httpx.AsyncClient, headers: dict[str, str]) -> list[int]:
    return [item["idItem"] for item in data(await http.get(f"{API}/sidebar", headers=headers))]


# -- the caller's menu -----------------------------------------------------------------------


async def test_sidebar_lists_the_callers_role_items_ordered_by_id(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    first, second, third, _hidden = [await create_item(client, admin_headers) for _ in range(4)]
    for item in (third, first, second):
        await assign(client, admin_headers, item["idItem"], role_id)
    items = data(await client.get(f"{API}/sidebar", headers=user.headers))
    assert items == [first, second, third]


async def test_sidebar_needs_a_token(client: httpx.AsyncClient) -> None:
    failure(await client.get(f"{API}/sidebar"), 401)


async def test_login_carries_the_same_menu(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    item = await create_item(client, admin_headers, iconItem="home", route="/home")
    await assign(client, admin_headers, item["idItem"], role_id)
    response = await client.post(
        f"{API}/auth/login", json={"email": user.email, "password": user.password}
    )
    assert data(response)["sidebarItems"] == [item]


# -- items -----------------------------------------------------------------------------------


async def test_create_answers_the_new_item_with_201(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    full = await create_item(client, admin_headers, iconItem="users", route="/users")
    bare = await create_item(client, admin_headers)
    assert set(full) == ITEM_FIELDS
    assert (full["iconItem"], full["route"]) == ("users", "/users")
    assert (bare["iconItem"], bare["route"]) == (None, None)


async def test_create_with_invalid_fields_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for body in (
        {},
        {"nameItem": ""},
        {"nameItem": "x" * 101},
        {"nameItem": "Icons", "iconItem": "x" * 51},
        {"nameItem": "Routes", "route": "x" * 101},
    ):
        failure(await client.post(f"{API}/sidebar", headers=admin_headers, json=body), 400)


async def test_create_needs_the_permission(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    body = {"nameItem": "Mine"}
    failure(await client.post(f"{API}/sidebar", headers=user.headers, json=body), 403)


async def test_edit_changes_the_given_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    item = await create_item(client, admin_headers, iconItem="old", route="/old")
    path = f"{API}/sidebar/{item['idItem']}"
    updated = data(await client.put(path, headers=admin_headers, json={"route": "/new"}))
    assert updated == {**item, "route": "/new"}


async def test_concurrent_edits_of_one_item_each_change_what_the_one_before_left(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    item = await create_item(client, admin_headers)
    bodies = [{"nameItem": unique("name")} for _ in range(10)]
    path = f"{API}/sidebar/{item['idItem']}"
    names = await edit_at_once(
        client, admin_headers, path, bodies, entity="sidebar", field="nameItem"
    )
    assert len(names) == len(bodies) and chained(names)


async def test_edit_with_an_empty_body_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    item = await create_item(client, admin_headers)
    path = f"{API}/sidebar/{item['idItem']}"
    failure(await client.put(path, headers=admin_headers, json={}), 400)
    failure(await client.put(path, headers=admin_headers, json={"nameItem": None}), 400)


async def test_edit_of_an_unknown_item_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"nameItem": "Ghost"}
    failure(await client.put(f"{API}/sidebar/999999", headers=admin_headers, json=body), 404)


async def test_delete_removes_the_item(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    item = await create_item(client, admin_headers)
    path = f"{API}/sidebar/{item['idItem']}"
    assert data(await client.delete(path, headers=admin_headers)) is None
    failure(await client.put(path, headers=admin_headers, json={"route": "/x"}), 404)
    failure(await client.delete(path, headers=admin_headers), 404)


async def test_deleting_an_item_removes_its_assignments(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    item = await create_item(client, admin_headers)
    await assign(client, admin_headers, item["idItem"], role_id)
    assert await menu(client, user.headers) == [item["idItem"]]
    data(await client.delete(f"{API}/sidebar/{item['idItem']}", headers=admin_headers))
    assert await menu(client, user.headers) == []


async def test_item_ids_that_are_not_positive_integers_are_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for item_id in ("abc", "0", "99999999999"):
        failure(await client.delete(f"{API}/sidebar/{item_id}", headers=admin_headers), 400)
        path = f"{API}/sidebar/{item_id}/role/1"
        failure(await client.post(path, headers=admin_headers), 400)


# -- assignments -----------------------------------------------------------------------------


async def test_assign_answers_role_and_item_with_201(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    item = await create_item(client, admin_headers)
    assignment = await assign(client, admin_headers, item["idItem"], role_id)
    roles = data(await client.get(f"{API}/roles", headers=admin_headers))
    role_name = next(role["roleName"] for role in roles if role["idRole"] == role_id)
    assert assignment == {
        "idRole": role_id,
        "idItem": item["idItem"],
        "roleName": role_name,
        "nameItem": item["nameItem"],
    }


async def test_assigning_twice_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    item = await create_item(client, admin_headers)
    await assign(client, admin_headers, item["idItem"], role_id)
    path = f"{API}/sidebar/{item['idItem']}/role/{role_id}"
    failure(await client.post(path, headers=admin_headers), 409)


async def test_assigning_an_unknown_item_or_role_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    item = await create_item(client, admin_headers)
    for path in (f"999999/role/{role_id}", f"{item['idItem']}/role/999999"):
        failure(await client.post(f"{API}/sidebar/{path}", headers=admin_headers), 404)


async def test_unassign_hides_the_item_from_the_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await member(client, admin_headers, role_id=role_id)
    kept, dropped = (
        await create_item(client, admin_headers),
        await create_item(client, admin_headers),
    )
    for item in (kept, dropped):
        await assign(client, admin_headers, item["idItem"], role_id)
    path = f"{API}/sidebar/{dropped['idItem']}/role/{role_id}"
    assert data(await client.delete(path, headers=admin_headers)) is None
    assert await menu(client, user.headers) == [kept["idItem"]]


async def test_unassigning_what_is_not_assigned_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    item = await create_item(client, admin_headers)
    path = f"{API}/sidebar/{item['idItem']}/role/{role_id}"
    failure(await client.delete(path, headers=admin_headers), 404)


# -- routes that would run code ---------------------------------------------------------------


async def test_a_route_with_a_script_scheme_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for route in (
        "javascript:alert(1)",
        "JaVa\tScript:alert(1)",
        " data:text/html,x",
        "vbscript:x",
    ):
        body = {"nameItem": unique("item"), "route": route}
        answer = await client.post(f"{API}/sidebar", headers=admin_headers, json=body)
        failure(answer, 400)


async def test_paths_and_http_addresses_are_accepted_as_routes(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for route in ("/users", "reports/daily", "https://example.com/help", "/search?q=a:b"):
        body = {"nameItem": unique("item"), "route": route}
        assert data(await client.post(f"{API}/sidebar", headers=admin_headers, json=body), 201)
