"""Lists that scale (contract 10): search, filters, sort and totals on `GET /users`, search and
sort on `GET /roles` and `GET /permission`, the audit's `actor`, and `GET /sidebar/all`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL
from tests.helpers import API, create_role, data, failure, member, register

# Names that sort the same under every database's collation (capitalised, no accents).
PEOPLE = [
    ("Delta Fox", "delta@example.com"),
    ("Alpha 100% real", "alpha@example.com"),
    ("Charlie_Brown", "charlie@example.com"),
    ("Bravo Echo", "zulu@example.org"),
]


async def _people(http: httpx.AsyncClient, admin: dict[str, str], role_id: int) -> list[int]:
    ids = []
    for full_name, email in PEOPLE:
        body = {"full_name": full_name, "email": email, "password": "member-password-1"}
        created = data(
            await http.post(
                f"{API}/auth/register", headers=admin, json={**body, "roleId": role_id}
            ),
            201,
        )
        ids.append(created["idUser"])
    return ids


async def _names(http: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    return [
        user["full_name"]
        for user in data(await http.get(f"{API}/users", headers=headers, params=params))
    ]


async def test_search_matches_part_of_the_name_or_the_email_in_any_case(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    await _people(client, admin_headers, role)
    assert await _names(client, admin_headers, search="FOX") == ["Delta Fox"]
    assert await _names(client, admin_headers, search="example.ORG") == ["Bravo Echo"]
    assert await _names(client, admin_headers, search="  echo ") == ["Bravo Echo"]
    assert await _names(client, admin_headers, search="nobody") == []


async def test_percent_and_underscore_are_plain_characters_in_a_search(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    await _people(client, admin_headers, role)
    assert await _names(client, admin_headers, search="%") == ["Alpha 100% real"]
    assert await _names(client, admin_headers, search="_") == ["Charlie_Brown"]
    assert await _names(client, admin_headers, search="0% r") == ["Alpha 100% real"]


async def test_role_and_state_filters_narrow_the_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    ids = await _people(client, admin_headers, role)
    await member(client, admin_headers)  # another role
    state = {"isActive": 0}
    data(await client.put(f"{API}/users/{ids[0]}/state", headers=admin_headers, json=state))
    in_role = await _names(client, admin_headers, roleId=role)
    assert in_role == [name for name, _ in PEOPLE]
    assert await _names(client, admin_headers, roleId=role, isActive=0) == ["Delta Fox"]
    active = await _names(client, admin_headers, roleId=role, isActive=1)
    assert active == [name for name, _ in PEOPLE[1:]]
    assert await _names(client, admin_headers, roleId=2_000_000) == []  # no such role: none


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("full_name", ["Alpha 100% real", "Bravo Echo", "Charlie_Brown", "Delta Fox"]),
        ("-full_name", ["Delta Fox", "Charlie_Brown", "Bravo Echo", "Alpha 100% real"]),
        ("email", ["Alpha 100% real", "Charlie_Brown", "Delta Fox", "Bravo Echo"]),
        ("-email", ["Bravo Echo", "Delta Fox", "Charlie_Brown", "Alpha 100% real"]),
        ("idUser", [name for name, _ in PEOPLE]),
        ("-idUser", [name for name, _ in reversed(PEOPLE)]),
    ],
)
async def test_sort_orders_by_the_field_either_way(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sort: str, expected: list[str]
) -> None:
    role = await create_role(client, admin_headers)
    await _people(client, admin_headers, role)
    names = await _names(client, admin_headers, roleId=role, sort=sort)
    assert names == expected


async def test_sort_by_role_name_keeps_each_roles_users_in_id_order(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)  # "role-…" sorts after "admin"
    await _people(client, admin_headers, role)
    ascending = data(
        await client.get(f"{API}/users", headers=admin_headers, params={"sort": "roleName"})
    )
    assert [user["email"] for user in ascending] == [ADMIN_EMAIL] + [e for _, e in PEOPLE]
    descending = data(
        await client.get(f"{API}/users", headers=admin_headers, params={"sort": "-roleName"})
    )
    assert [user["email"] for user in descending] == [e for _, e in reversed(PEOPLE)] + [
        ADMIN_EMAIL
    ]


async def test_with_total_adds_meta_counting_every_match_beyond_the_page(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    await _people(client, admin_headers, role)
    params = {"roleId": role, "limit": 3, "page": 2, "withTotal": "true", "sort": "email"}
    body = (await client.get(f"{API}/users", headers=admin_headers, params=params)).json()
    assert body["meta"] == {"page": 2, "limit": 3, "total": 4}
    assert [user["full_name"] for user in body["data"]] == ["Bravo Echo"]
    plain_total = (
        await client.get(f"{API}/users", headers=admin_headers, params={"withTotal": "true"})
    ).json()
    assert plain_total["meta"] == {"page": 1, "limit": 50, "total": 5}
    assert len(plain_total["data"]) == 5


async def test_without_the_new_parameters_the_answer_is_as_before(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    await _people(client, admin_headers, role)
    plain = await client.get(f"{API}/users", headers=admin_headers, params={"limit": 3})
    body = plain.json()
    assert list(body) == ["success", "message", "data"]
    assert [user["idUser"] for user in body["data"]] == sorted(u["idUser"] for u in body["data"])
    # The same rows through the filtered path, and without meta when no total was asked.
    blank = await client.get(
        f"{API}/users", headers=admin_headers, params={"limit": 3, "search": " ", "sort": "idUser"}
    )
    assert blank.content == plain.content


BAD_PARAMETERS = [
    ("users", {"sort": "password_hash"}, "sort"),
    ("users", {"sort": "-"}, "sort"),
    ("users", {"sort": "fullName"}, "sort"),
    ("users", {"isActive": "2"}, "isActive"),
    ("users", {"isActive": "yes"}, "isActive"),
    ("users", {"roleId": "0"}, "roleId"),
    ("users", {"roleId": "x"}, "roleId"),
    ("users", {"withTotal": "maybe"}, "withTotal"),
    ("users", {"search": "x" * 101}, "search"),
    ("users", {"search": "a\x00b"}, "search"),
    ("roles", {"sort": "idUser"}, "sort"),
    ("roles", {"search": "x" * 101}, "search"),
    ("permission", {"sort": "-roleName"}, "sort"),
    ("audit", {"actor": ""}, "actor"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD_PARAMETERS)
async def test_a_bad_list_parameter_is_a_400_naming_it(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    body = failure(await client.get(f"{API}/{path}", headers=admin_headers, params=params), 400)
    assert [error["field"] for error in body["errors"]] == [field]


async def test_roles_are_searched_and_sorted_on_their_own_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name, description in (("zz-ops", "Runs 50%_of things"), ("aa-ops", "Helps ops")):
        body = {"roleName": name, "description": description}
        data(await client.post(f"{API}/roles", headers=admin_headers, json=body), 201)
    found = data(await client.get(f"{API}/roles", headers=admin_headers, params={"search": "OPS"}))
    assert [role["roleName"] for role in found] == ["zz-ops", "aa-ops"]
    by_name = data(
        await client.get(
            f"{API}/roles", headers=admin_headers, params={"search": "-ops", "sort": "roleName"}
        )
    )
    assert [role["roleName"] for role in by_name] == ["aa-ops", "zz-ops"]
    literal = data(await client.get(f"{API}/roles", headers=admin_headers, params={"search": "%_"}))
    assert [role["roleName"] for role in literal] == ["zz-ops"]
    newest = data(
        await client.get(f"{API}/roles", headers=admin_headers, params={"sort": "-idRole"})
    )
    ids = [role["idRole"] for role in newest]
    assert ids == sorted(ids, reverse=True)


async def test_permissions_are_searched_and_sorted_on_their_own_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    params = {"search": "/api/v1/SIDEBAR", "sort": "-nameUri"}
    found = data(await client.get(f"{API}/permission", headers=admin_headers, params=params))
    uris = [permission["nameUri"] for permission in found]
    assert uris and all("/api/v1/sidebar" in uri for uri in uris)
    assert uris == sorted(uris, reverse=True)
    described = data(
        await client.get(f"{API}/permission", headers=admin_headers, params={"search": "zzz-none"})
    )
    assert described == []


async def test_the_audit_filters_by_the_actors_email(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await register(client, admin_headers)
    params = {"actor": ADMIN_EMAIL.upper(), "operation": "auth:register"}
    entries = data(await client.get(f"{API}/audit", headers=admin_headers, params=params))
    assert len(entries) == 1 and entries[0]["actorEmail"] == ADMIN_EMAIL
    params = {"actor": "someone-else@example.com"}
    assert data(await client.get(f"{API}/audit", headers=admin_headers, params=params)) == []


async def test_sidebar_all_lists_every_item_with_the_roles_that_see_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    first = data(
        await client.post(f"{API}/sidebar", headers=admin_headers, json={"nameItem": "Users"}), 201
    )
    second = data(
        await client.post(f"{API}/sidebar", headers=admin_headers, json={"nameItem": "Help"}), 201
    )
    data(
        await client.post(f"{API}/sidebar/{first['idItem']}/role/{role}", headers=admin_headers),
        201,
    )
    items = data(await client.get(f"{API}/sidebar/all", headers=admin_headers))
    ids = [item["idItem"] for item in items]
    assert ids == sorted(ids) and {first["idItem"], second["idItem"]} <= set(ids)
    by_id = {item["idItem"]: item for item in items}
    assert [r["idRole"] for r in by_id[first["idItem"]]["roles"]] == [role]
    assert set(by_id[first["idItem"]]["roles"][0]) == {"idRole", "roleName"}
    assert by_id[second["idItem"]]["roles"] == []
    assert set(by_id[second["idItem"]]) == {"idItem", "nameItem", "iconItem", "route", "roles"}


async def test_sidebar_all_needs_its_permission(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    outsider = await member(client, admin_headers)
    failure(await client.get(f"{API}/sidebar/all", headers=outsider.headers), 403)
