"""The auth routes (reference §4 and 4.1): register, login, logout."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer, login
from tests.helpers import (
    API,
    PASSWORD,
    assert_no_secrets,
    create_role,
    data,
    failure,
    grant,
    member,
    register,
    role_id_named,
    unique_email,
)

USER_FIELDS = {"idUser", "full_name", "email", "roleId", "roleName", "roleDescription", "isActive"}


def registration(**extra: object) -> dict[str, object]:
    return {"full_name": "New Person", "email": unique_email(), "password": PASSWORD, **extra}


async def open_client(make_app: AppFactory) -> httpx.AsyncClient:
    application = await make_app(self_registration=True)
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://seam.test")


# -- register --------------------------------------------------------------------------------


async def test_anonymous_registration_is_refused_when_self_registration_is_off(
    client: httpx.AsyncClient,
) -> None:
    failure(await client.post(f"{API}/auth/register", json=registration()), 403)


async def test_anonymous_registration_gets_the_default_role_when_self_registration_is_on(
    make_app: AppFactory,
) -> None:
    async with await open_client(make_app) as http:
        response = await http.post(f"{API}/auth/register", json=registration())
        user = data(response, 201)
    assert set(user) == USER_FIELDS
    assert user["roleName"] == "user"
    assert user["isActive"] == 1
    assert_no_secrets(response)


async def test_anonymous_registration_may_name_the_default_role(make_app: AppFactory) -> None:
    async with await open_client(make_app) as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        default_role = await role_id_named(http, admin, "user")
        response = await http.post(f"{API}/auth/register", json=registration(roleId=default_role))
        assert data(response, 201)["roleId"] == default_role


async def test_anonymous_registration_into_another_role_is_forbidden(
    make_app: AppFactory,
) -> None:
    async with await open_client(make_app) as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        admin_role = await role_id_named(http, admin, "admin")
        response = await http.post(f"{API}/auth/register", json=registration(roleId=admin_role))
        failure(response, 403)


async def test_admin_registers_a_user_into_any_existing_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    response = await client.post(
        f"{API}/auth/register", headers=admin_headers, json=registration(roleId=role_id)
    )
    assert data(response, 201)["roleId"] == role_id


async def test_a_role_holding_the_register_permission_may_choose_the_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Any role within its reach (one holding nothing it lacks; see tests/security/
    test_delegation.py for the admin role, which is out of it)."""
    role_id = await create_role(client, admin_headers)
    registrar = await member(client, admin_headers, role_id=role_id)
    await grant(client, admin_headers, role_id=role_id, name_uri="POST /api/v1/auth/register")
    chosen = await create_role(client, admin_headers)
    response = await client.post(
        f"{API}/auth/register", headers=registrar.headers, json=registration(roleId=chosen)
    )
    assert data(response, 201)["roleId"] == chosen


async def test_a_signed_in_user_without_the_register_permission_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    plain = await member(client, admin_headers)
    response = await client.post(f"{API}/auth/register", headers=plain.headers, json=registration())
    failure(response, 403)


async def test_registration_into_an_unknown_role_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{API}/auth/register", headers=admin_headers, json=registration(roleId=999_999)
    )
    failure(response, 400)


async def test_registration_with_a_taken_email_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    taken = await register(client, admin_headers)
    body = registration(email=taken["email"].upper())
    failure(await client.post(f"{API}/auth/register", headers=admin_headers, json=body), 409)


async def test_invalid_registration_lists_an_error_per_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"full_name": "A", "email": "not-an-email", "password": "12345"}
    response = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    errors = failure(response, 400)["errors"]
    assert {error["field"] for error in errors} == {"full_name", "email", "password"}
    assert all(error["message"] for error in errors)


# -- login -----------------------------------------------------------------------------------


async def test_login_answers_token_user_menu_and_permission_names(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    result = data(response)
    assert set(result) == {
        "token",
        "expiresIn",
        "user",
        "sidebarItems",
        "permissions",
        "refreshToken",
        "capabilities",  # additive (console): tests/auth/test_capabilities.py
    }
    assert isinstance(result["token"], str) and result["token"]
    assert result["expiresIn"] == 3600
    assert set(result["user"]) == USER_FIELDS
    assert result["user"]["email"] == ADMIN_EMAIL
    # The console's pages, seeded by the bootstrap of a fresh database.
    assert "/admin/users" in [item["route"] for item in result["sidebarItems"]]
    assert all(isinstance(name, str) for name in result["permissions"])
    assert "GET /api/v1/users" in result["permissions"]
    assert_no_secrets(response)


async def test_login_with_a_differently_cased_email_succeeds(client: httpx.AsyncClient) -> None:
    await login(client, ADMIN_EMAIL.upper(), ADMIN_PASSWORD)


async def test_login_fails_with_one_message_for_unknown_email_wrong_password_and_inactive_user(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    inactive = await register(client, admin_headers)
    disable = {"isActive": 0}
    path = f"{API}/users/{inactive['idUser']}/state"
    data(await client.put(path, headers=admin_headers, json=disable))
    attempts = [
        {"email": "nobody@example.com", "password": ADMIN_PASSWORD},
        {"email": ADMIN_EMAIL, "password": "wrong-password"},
        {"email": inactive["email"], "password": PASSWORD},
    ]
    messages = set()
    for attempt in attempts:
        response = await client.post(f"{API}/auth/login", json=attempt)
        messages.add(failure(response, 401)["message"])
    assert len(messages) == 1


async def test_login_without_a_password_is_400(client: httpx.AsyncClient) -> None:
    failure(await client.post(f"{API}/auth/login", json={"email": ADMIN_EMAIL}), 400)


# -- logout ----------------------------------------------------------------------------------


async def test_logout_revokes_the_presented_token(client: httpx.AsyncClient) -> None:
    headers = bearer(await login(client, ADMIN_EMAIL, ADMIN_PASSWORD))
    assert data(await client.post(f"{API}/auth/logout", headers=headers)) is None
    failure(await client.get(f"{API}/roles", headers=headers), 401)
    failure(await client.post(f"{API}/auth/logout", headers=headers), 401)


async def test_logout_leaves_the_users_other_tokens_valid(client: httpx.AsyncClient) -> None:
    leaving = bearer(await login(client, ADMIN_EMAIL, ADMIN_PASSWORD))
    staying = bearer(await login(client, ADMIN_EMAIL, ADMIN_PASSWORD))
    data(await client.post(f"{API}/auth/logout", headers=leaving))
    data(await client.get(f"{API}/roles", headers=staying))


async def test_logout_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    failure(await client.post(f"{API}/auth/logout"), 401)
