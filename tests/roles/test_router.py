"""The role routes (reference §4): list, create, edit, delete."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from seam_api.app import Application
from seam_api.models import role_permissions, role_sidebar_items
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer, login
from tests.helpers import (
    API,
    chained,
    create_role,
    data,
    edit_at_once,
    failure,
    grant,
    member,
    register,
    role_id_named,
    unique,
)


async def test_any_signed_in_user_lists_the_roles(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    plain = await member(client, admin_headers)
    roles = data(await client.get(f"{API}/roles", headers=plain.headers))
    assert {role["roleName"] for role in roles} == {"admin", "user"}
    assert all(set(role) == {"idRole", "roleName", "description", "requireMfa"} for role in roles)


async def test_listing_roles_needs_a_token(client: httpx.AsyncClient) -> None:
    failure(await client.get(f"{API}/roles"), 401)


async def test_create_answers_the_new_role_with_201(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"roleName": unique("editors"), "description": "Edits things"}
    role = data(await client.post(f"{API}/roles", headers=admin_headers, json=body), 201)
    assert role == {"idRole": role["idRole"], "requireMfa": 0, **body}
    assert role in data(await client.get(f"{API}/roles", headers=admin_headers))


async def test_create_with_a_taken_name_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name in ("admin", "ADMIN"):
        body = {"roleName": name}
        failure(await client.post(f"{API}/roles", headers=admin_headers, json=body), 409)


async def test_create_with_a_short_or_missing_name_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for body in ({"roleName": "a"}, {"roleName": "  a  "}, {"roleName": "x" * 51}, {}):
        failure(await client.post(f"{API}/roles", headers=admin_headers, json=body), 400)


async def test_create_needs_the_permission(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    plain = await member(client, admin_headers)
    body = {"roleName": unique("sneaky")}
    failure(await client.post(f"{API}/roles", headers=plain.headers, json=body), 403)


async def test_edit_renames_and_describes_a_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    body = {"roleName": unique("renamed"), "description": "New words"}
    role = data(await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json=body))
    assert role == {"idRole": role_id, "requireMfa": 0, **body}


async def test_concurrent_edits_of_one_role_each_change_what_the_one_before_left(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    bodies = [{"description": f"Words {n}"} for n in range(10)]
    path = f"{API}/roles/{role_id}"
    words = await edit_at_once(
        client, admin_headers, path, bodies, entity="role", field="description"
    )
    assert len(words) == len(bodies) and chained(words)


async def test_edit_to_a_taken_name_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    body = {"roleName": "Admin"}
    failure(await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json=body), 409)


async def test_names_differing_only_in_unicode_case_are_taken(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    suffix = unique("")
    for name, same in [("Árbol", "árbol"), ("ǅemal", "ǆEMAL"), ("Straße", "STRASSE")]:
        body = {"roleName": name + suffix}
        data(await client.post(f"{API}/roles", headers=admin_headers, json=body), 201)
        clash = {"roleName": same + suffix}
        failure(await client.post(f"{API}/roles", headers=admin_headers, json=clash), 409)
        role_id = await create_role(client, admin_headers)
        failure(await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json=clash), 409)


async def test_names_differing_in_accents_are_different_names(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    suffix = unique("")
    for name in ("Árbol", "Arbol", "Àrbol"):
        body = {"roleName": name + suffix}
        data(await client.post(f"{API}/roles", headers=admin_headers, json=body), 201)


async def test_edit_with_an_empty_body_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    failure(await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json={}), 400)


async def test_edit_of_an_unknown_role_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"description": "Nobody"}
    failure(await client.put(f"{API}/roles/999999", headers=admin_headers, json=body), 404)


async def test_delete_removes_the_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    assert data(await client.delete(f"{API}/roles/{role_id}", headers=admin_headers)) is None
    roles = data(await client.get(f"{API}/roles", headers=admin_headers))
    assert role_id not in {role["idRole"] for role in roles}
    failure(await client.delete(f"{API}/roles/{role_id}", headers=admin_headers), 404)


async def test_delete_is_refused_while_users_hold_the_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    await register(client, admin_headers, role_id=role_id)
    failure(await client.delete(f"{API}/roles/{role_id}", headers=admin_headers), 409)


async def test_delete_takes_the_roles_permission_and_menu_assignments(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=role_id, name_uri="GET /api/v1/users")
    item = data(
        await client.post(f"{API}/sidebar", headers=admin_headers, json={"nameItem": "Home"}), 201
    )
    path = f"{API}/sidebar/{item['idItem']}/role/{role_id}"
    data(await client.post(path, headers=admin_headers), 201)

    data(await client.delete(f"{API}/roles/{role_id}", headers=admin_headers))

    async with app.seam.db.read() as conn:
        for table in (role_permissions, role_sidebar_items):
            query = select(func.count()).select_from(table).where(table.c.role_id == role_id)
            assert (await conn.execute(query)).scalar_one() == 0, table.name


async def test_the_default_role_cannot_be_deleted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    default_role = await role_id_named(client, admin_headers, "user")
    failure(await client.delete(f"{API}/roles/{default_role}", headers=admin_headers), 409)


# -- the seeded roles keep their names -------------------------------------------------------

PROTECTED_ROLE_NAMES = ("admin", "user")  # the bootstrap's admin role and the default role


async def test_the_admin_and_default_roles_cannot_be_renamed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    before = data(await client.get(f"{API}/roles", headers=admin_headers))
    for name in PROTECTED_ROLE_NAMES:
        role_id = await role_id_named(client, admin_headers, name)
        body = {"roleName": unique("renamed"), "description": "Renamed"}
        response = await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json=body)
        assert failure(response, 409)["message"] == "The admin and default roles cannot be renamed"
    assert data(await client.get(f"{API}/roles", headers=admin_headers)) == before


async def test_renaming_a_protected_role_is_refused_in_spanish_too(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await role_id_named(client, admin_headers, "admin")
    headers = {**admin_headers, "Accept-Language": "es"}
    body = {"roleName": unique("renamed")}
    response = await client.put(f"{API}/roles/{role_id}", headers=headers, json=body)
    message = failure(response, 409)["message"]
    assert message == "No se puede renombrar el rol admin ni el rol por defecto"


async def test_the_admin_and_default_roles_can_be_described(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name in PROTECTED_ROLE_NAMES:
        role_id = await role_id_named(client, admin_headers, name)
        body = {"description": f"New words for {name}"}
        role = data(await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json=body))
        assert role == {"idRole": role_id, "roleName": name, "requireMfa": 0, **body}
    roles = data(await client.get(f"{API}/roles", headers=admin_headers))
    assert {role["roleName"]: role["description"] for role in roles} == {
        name: f"New words for {name}" for name in PROTECTED_ROLE_NAMES
    }


async def test_renaming_a_protected_role_to_its_own_name_in_any_case_keeps_the_name(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name in PROTECTED_ROLE_NAMES:
        role_id = await role_id_named(client, admin_headers, name)
        path = f"{API}/roles/{role_id}"
        unchanged = data(await client.put(path, headers=admin_headers, json={"roleName": name}))
        body = {"roleName": name.upper(), "description": "Same name, louder"}
        role = data(await client.put(path, headers=admin_headers, json=body))
        assert unchanged["roleName"] == name
        assert role == {
            "idRole": role_id,
            "roleName": name,
            "description": "Same name, louder",
            "requireMfa": 0,
        }
    roles = data(await client.get(f"{API}/roles", headers=admin_headers))
    assert {role["roleName"] for role in roles} == set(PROTECTED_ROLE_NAMES)


async def test_the_protected_default_role_is_the_one_the_settings_name(
    make_app: AppFactory,
) -> None:
    application = await make_app(default_role="Crew")
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        crew_id = await role_id_named(http, admin, "Crew")
        other = data(await http.post(f"{API}/roles", headers=admin, json={"roleName": "user"}), 201)
        body = {"roleName": unique("renamed")}
        failure(await http.put(f"{API}/roles/{crew_id}", headers=admin, json=body), 409)
        renamed = data(await http.put(f"{API}/roles/{other['idRole']}", headers=admin, json=body))
    assert renamed["roleName"] == body["roleName"]


# -- names that only look like a seeded role's ------------------------------------------------

CYRILLIC_A = "\u0430"
FULL_WIDTH_ADMIN = "\uff41\uff44\uff4d\uff49\uff4e"


async def test_role_names_that_only_look_like_admin_are_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for lookalike in (f"{CYRILLIC_A}dmin", FULL_WIDTH_ADMIN, "Àdmin", f"{CYRILLIC_A}DMIN"):
        answer = await client.post(
            f"{API}/roles", headers=admin_headers, json={"roleName": lookalike}
        )
        assert "'admin'" in failure(answer, 409)["message"], lookalike


async def test_renaming_a_role_to_look_like_the_default_role_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)

    answer = await client.put(
        f"{API}/roles/{role_id}", headers=admin_headers, json={"roleName": "us\u0435r"}
    )

    failure(answer, 409)


async def test_names_in_other_scripts_that_look_like_no_seeded_role_are_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for name in ("\u0410\u0434\u043c\u0438\u043d", f"{unique('Árbol')}"):
        answer = await client.post(f"{API}/roles", headers=admin_headers, json={"roleName": name})
        data(answer, 201)
