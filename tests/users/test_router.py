"""The user routes (reference §4): list, get, edit, state, password reset, delete."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_EMAIL, login
from tests.helpers import (
    API,
    PASSWORD,
    assert_no_secrets,
    chained,
    create_role,
    data,
    edit_at_once,
    failure,
    member,
    register,
    unique_email,
)

USER_FIELDS = {"idUser", "full_name", "email", "roleId", "roleName", "roleDescription", "isActive"}


async def login_status(http: httpx.AsyncClient, email: str, password: str) -> int:
    response = await http.post(f"{API}/auth/login", json={"email": email, "password": password})
    return response.status_code


# -- list ------------------------------------------------------------------------------------


async def test_list_returns_users_in_the_contract_shape(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(f"{API}/users", headers=admin_headers)
    users = data(response)
    assert [user["email"] for user in users] == [ADMIN_EMAIL]
    assert set(users[0]) == USER_FIELDS
    assert users[0]["roleName"] == "admin"


async def test_list_pages_through_users_in_id_order(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for _ in range(2):
        await register(client, admin_headers)
    first = data(await client.get(f"{API}/users?page=1&limit=2", headers=admin_headers))
    second = data(await client.get(f"{API}/users?page=2&limit=2", headers=admin_headers))
    third = data(await client.get(f"{API}/users?page=3&limit=2", headers=admin_headers))
    ids = [user["idUser"] for user in first + second]
    assert len(first) == 2 and len(second) == 1 and third == []
    assert ids == sorted(set(ids))


async def test_list_defaults_to_the_first_page(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await register(client, admin_headers)
    everyone = data(await client.get(f"{API}/users", headers=admin_headers))
    first = data(await client.get(f"{API}/users?page=1&limit=50", headers=admin_headers))
    assert everyone == first and len(everyone) == 2


async def test_list_shows_a_change_on_the_next_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    user = await register(client, admin_headers, role_id=role_id)
    data(await client.get(f"{API}/users", headers=admin_headers))
    body = {"full_name": "Changed Name"}
    data(await client.put(f"{API}/users/{user['idUser']}", headers=admin_headers, json=body))
    renamed = {"roleName": "renamed-role"}
    data(await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json=renamed))
    users = data(await client.get(f"{API}/users", headers=admin_headers))
    listed = next(row for row in users if row["idUser"] == user["idUser"])
    assert (listed["full_name"], listed["roleName"]) == ("Changed Name", "renamed-role")


async def test_list_rejects_out_of_range_pagination(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for query in ("limit=0", "limit=201", "page=0", "page=-1", "limit=abc"):
        response = await client.get(f"{API}/users?{query}", headers=admin_headers)
        failure(response, 400)


async def test_list_needs_a_token(client: httpx.AsyncClient) -> None:
    failure(await client.get(f"{API}/users"), 401)


# -- get one ---------------------------------------------------------------------------------


async def test_get_returns_one_user(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await register(client, admin_headers)
    fetched = data(await client.get(f"{API}/users/{created['idUser']}", headers=admin_headers))
    assert fetched == created


async def test_get_of_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    failure(await client.get(f"{API}/users/999999", headers=admin_headers), 404)


async def test_ids_that_are_not_positive_integers_are_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for user_id in ("abc", "0", "-1", "1.5", "99999999999"):
        response = await client.get(f"{API}/users/{user_id}", headers=admin_headers)
        failure(response, 400)


# -- edit ------------------------------------------------------------------------------------


async def test_concurrent_edits_of_one_user_each_change_what_the_one_before_left(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # No edit reads a row another edit is changing, whether it reads and writes in one
    # statement (a name) or two (an email, which it checks first).
    user = await register(client, admin_headers)
    bodies = [{"full_name": f"Name {n}"} for n in range(8)]
    bodies += [{"full_name": f"Both {n}", "email": unique_email()} for n in range(4)]
    path = f"{API}/users/{user['idUser']}"
    names = await edit_at_once(
        client, admin_headers, path, bodies, entity="user", field="full_name"
    )
    assert len(names) == len(bodies) and names[0][0] == user["full_name"]
    assert chained(names)


async def test_edit_changes_name_email_and_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    role_id = await create_role(client, admin_headers)
    changes = {"full_name": "Renamed Person", "email": unique_email(), "roleId": role_id}
    path = f"{API}/users/{user['idUser']}"
    updated = data(await client.put(path, headers=admin_headers, json=changes))
    assert (updated["full_name"], updated["email"], updated["roleId"]) == (
        changes["full_name"],
        changes["email"],
        role_id,
    )
    assert data(await client.get(path, headers=admin_headers)) == updated


async def test_edit_to_a_taken_email_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    taken = await register(client, admin_headers)
    response = await client.put(
        f"{API}/users/{user['idUser']}", headers=admin_headers, json={"email": taken["email"]}
    )
    failure(response, 409)


async def test_edit_keeping_the_own_email_is_allowed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    response = await client.put(
        f"{API}/users/{user['idUser']}", headers=admin_headers, json={"email": user["email"]}
    )
    assert data(response)["email"] == user["email"]


async def test_edit_to_an_unknown_role_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    response = await client.put(
        f"{API}/users/{user['idUser']}", headers=admin_headers, json={"roleId": 999_999}
    )
    failure(response, 400)


async def test_edit_with_an_empty_body_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    failure(await client.put(f"{API}/users/{user['idUser']}", headers=admin_headers, json={}), 400)


async def test_edit_of_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"full_name": "Nobody Here"}
    failure(await client.put(f"{API}/users/999999", headers=admin_headers, json=body), 404)


async def test_password_change_ends_old_sessions_and_the_new_password_signs_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    body = {"password": "brand-new-password"}
    data(await client.put(f"{API}/users/{user.id}", headers=admin_headers, json=body))
    failure(await client.get(f"{API}/roles", headers=user.headers), 401)
    assert await login_status(client, user.email, PASSWORD) == 401
    await login(client, user.email, "brand-new-password")


async def test_role_change_ends_old_sessions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    role_id = await create_role(client, admin_headers)
    body = {"roleId": role_id}
    data(await client.put(f"{API}/users/{user.id}", headers=admin_headers, json=body))
    failure(await client.get(f"{API}/roles", headers=user.headers), 401)


# -- state -----------------------------------------------------------------------------------


async def test_state_disables_and_enables_a_user(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    path = f"{API}/users/{user['idUser']}/state"
    disabled = data(await client.put(path, headers=admin_headers, json={"isActive": 0}))
    assert disabled["isActive"] == 0
    enabled = data(await client.put(path, headers=admin_headers, json={"isActive": 1}))
    assert enabled["isActive"] == 1


async def test_state_accepts_only_the_integers_0_and_1(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    path = f"{API}/users/{user['idUser']}/state"
    for value in (2, -1, "1", True, None, 0.5):
        response = await client.put(path, headers=admin_headers, json={"isActive": value})
        failure(response, 400)
    failure(await client.put(path, headers=admin_headers, json={}), 400)


async def test_disabled_user_cannot_sign_in_and_their_token_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    path = f"{API}/users/{user.id}/state"
    data(await client.put(path, headers=admin_headers, json={"isActive": 0}))
    assert await login_status(client, user.email, user.password) == 401
    failure(await client.get(f"{API}/roles", headers=user.headers), 401)


async def test_re_enabled_user_signs_in_again(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    path = f"{API}/users/{user.id}/state"
    data(await client.put(path, headers=admin_headers, json={"isActive": 0}))
    data(await client.put(path, headers=admin_headers, json={"isActive": 1}))
    await login(client, user.email, user.password)


async def test_state_of_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    path = f"{API}/users/999999/state"
    failure(await client.put(path, headers=admin_headers, json={"isActive": 1}), 404)


# -- reset password --------------------------------------------------------------------------


async def test_reset_password_gives_a_temporary_password_that_signs_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    response = await client.put(f"{API}/users/{user.id}/resetPassword", headers=admin_headers)
    result = data(response)
    assert set(result) == {"temporaryPassword"}
    await login(client, user.email, result["temporaryPassword"])
    assert await login_status(client, user.email, user.password) == 401


async def test_reset_password_ends_old_sessions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    data(await client.put(f"{API}/users/{user.id}/resetPassword", headers=admin_headers))
    failure(await client.get(f"{API}/roles", headers=user.headers), 401)


async def test_reset_password_of_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    failure(await client.put(f"{API}/users/999999/resetPassword", headers=admin_headers), 404)


# -- delete ----------------------------------------------------------------------------------


async def test_deleted_user_is_gone(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    path = f"{API}/users/{user['idUser']}"
    assert data(await client.delete(path, headers=admin_headers)) is None
    failure(await client.get(path, headers=admin_headers), 404)
    failure(await client.delete(path, headers=admin_headers), 404)


async def test_deleted_users_token_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    data(await client.delete(f"{API}/users/{user.id}", headers=admin_headers))
    failure(await client.get(f"{API}/roles", headers=user.headers), 401)


# -- the password hash -----------------------------------------------------------------------


async def test_no_user_answer_carries_the_password_hash(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    path = f"{API}/users/{user.id}"
    responses = [
        await client.post(
            f"{API}/auth/login", json={"email": user.email, "password": user.password}
        ),
        await client.get(f"{API}/users", headers=admin_headers),
        await client.get(path, headers=admin_headers),
        await client.put(path, headers=admin_headers, json={"full_name": "Still Here"}),
        await client.put(f"{path}/state", headers=admin_headers, json={"isActive": 1}),
        await client.put(f"{path}/resetPassword", headers=admin_headers),
        await client.delete(path, headers=admin_headers),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert_no_secrets(response)


async def test_users_routes_need_their_permission(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await member(client, admin_headers)
    path = f"{API}/users/{user.id}"
    responses = [
        await client.get(f"{API}/users", headers=user.headers),
        await client.get(path, headers=user.headers),
        await client.put(path, headers=user.headers, json={"full_name": "Self Promoted"}),
        await client.put(f"{path}/state", headers=user.headers, json={"isActive": 1}),
        await client.put(f"{path}/resetPassword", headers=user.headers),
        await client.delete(path, headers=user.headers),
    ]
    for response in responses:
        failure(response, 403)
