"""Your own account (contract 9.1) and the forced change of temporary passwords (9.2)."""

from __future__ import annotations

import httpx
import pytest
import socketio

from tests.accounts import Account, new_account, sign_in
from tests.accounts.conftest import Live
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer
from tests.helpers import API, PASSWORD, create_role, data, failure

NEW_PASSWORD = "a-new-password-3"
CHANGE_REQUIRED = "Password change required"


def change(current: str = PASSWORD, new: str = NEW_PASSWORD) -> dict[str, str]:
    return {"currentPassword": current, "newPassword": new}


async def test_me_answers_the_user_menu_permissions_and_account_state(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(
        client, admin_headers, role_id=await create_role(client, admin_headers)
    )
    me = data(await client.get(f"{API}/auth/me", headers=account.headers))
    assert set(me) == {
        "user",
        "permissions",
        "sidebarItems",
        "mfaEnabled",
        "mustChangePassword",
        "mfaEnrolmentRequired",
    }
    assert me["user"]["idUser"] == account.id and me["user"]["email"] == account.email
    assert me["permissions"] == [] and me["sidebarItems"] == []
    assert me["mfaEnabled"] is False and me["mustChangePassword"] is False
    assert me["mfaEnrolmentRequired"] is False


async def test_anyone_signed_in_renames_themselves_and_nothing_else(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    body = {"full_name": "Renamed Me", "email": "other@example.com", "roleId": 1}
    user = data(await client.put(f"{API}/auth/me", headers=account.headers, json=body))
    assert user["full_name"] == "Renamed Me"
    assert user["email"] == account.email and user["roleName"] == "user"
    failure(
        await client.put(f"{API}/auth/me", headers=account.headers, json={"full_name": "x"}), 400
    )


async def test_a_password_change_ends_other_sessions_and_renews_this_one(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    other = await sign_in(client, account.email)
    answer = data(await client.put(f"{API}/auth/password", headers=account.headers, json=change()))
    assert set(answer) == {"token", "expiresIn", "refreshToken"}
    failure(await client.get(f"{API}/roles", headers=bearer(other["token"])), 401)
    failure(await client.get(f"{API}/roles", headers=account.headers), 401)  # the old token
    assert data(await client.get(f"{API}/roles", headers=bearer(answer["token"])))
    body = {"refreshToken": other["refreshToken"]}
    failure(await client.post(f"{API}/auth/refresh", json=body), 401)
    body = {"refreshToken": answer["refreshToken"]}
    assert data(await client.post(f"{API}/auth/refresh", json=body))["token"]
    sessions = data(await client.get(f"{API}/auth/sessions", headers=bearer(answer["token"])))
    assert [session["current"] for session in sessions] == [True]
    failure(
        await client.post(f"{API}/auth/login", json={"email": account.email, "password": PASSWORD}),
        401,
    )
    assert (await sign_in(client, account.email, NEW_PASSWORD))["token"]


async def test_a_wrong_current_password_is_401_and_counts_as_a_failed_login(
    make_app: AppFactory,
) -> None:
    application = await make_app(login_max_failures_per_account=2)
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        admin = bearer((await sign_in(http, ADMIN_EMAIL, ADMIN_PASSWORD))["token"])
        account = await new_account(http, admin)
        for _ in range(2):
            body = change(current="not-my-password")
            failure(await http.put(f"{API}/auth/password", headers=account.headers, json=body), 401)
        login = {"email": account.email, "password": PASSWORD}
        failure(await http.post(f"{API}/auth/login", json=login), 429)
        assert data(await http.get(f"{API}/roles", headers=account.headers))  # nothing changed


@pytest.mark.parametrize(
    "new", [PASSWORD, "short", "x" * 101], ids=["same as current", "too short", "too long"]
)
async def test_a_new_password_equal_to_the_old_or_outside_policy_is_400_naming_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str], new: str
) -> None:
    account = await new_account(client, admin_headers)
    body = failure(
        await client.put(f"{API}/auth/password", headers=account.headers, json=change(new=new)), 400
    )
    assert [error["field"] for error in body["errors"]] == ["newPassword"]
    assert data(await client.get(f"{API}/roles", headers=account.headers))  # still signed in
    assert (await sign_in(client, account.email))["token"]  # the password did not change


async def reset(http: httpx.AsyncClient, admin: dict[str, str], account: Account) -> str:
    answer = await http.put(f"{API}/users/{account.id}/resetPassword", headers=admin)
    return str(data(answer)["temporaryPassword"])


async def test_a_temporary_password_signs_in_to_change_it_and_nothing_else(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    temporary = await reset(client, admin_headers, account)
    signed = await sign_in(client, account.email, temporary)
    assert signed["mustChangePassword"] is True
    headers = bearer(signed["token"])
    for method, path in (
        ("GET", "/roles"),
        ("GET", "/sidebar"),
        ("GET", "/auth/sessions"),
        ("PUT", "/auth/me"),
        ("POST", "/auth/mfa/totp"),
    ):
        refused = failure(
            await client.request(
                method, f"{API}{path}", headers=headers, json={"full_name": "New Name"}
            ),
            403,
        )
        assert refused["message"] == CHANGE_REQUIRED
    spanish = await client.get(f"{API}/roles", headers={**headers, "Accept-Language": "es"})
    assert failure(spanish, 403)["message"] == "Debe cambiar su contraseña"
    assert data(await client.get(f"{API}/auth/me", headers=headers))["mustChangePassword"] is True
    body = {"refreshToken": signed["refreshToken"]}
    refreshed = data(await client.post(f"{API}/auth/refresh", json=body))
    failure(await client.get(f"{API}/roles", headers=bearer(refreshed["token"])), 403)
    answer = data(
        await client.put(f"{API}/auth/password", headers=headers, json=change(current=temporary))
    )
    fresh = bearer(answer["token"])
    assert data(await client.get(f"{API}/roles", headers=fresh))
    assert data(await client.get(f"{API}/auth/me", headers=fresh))["mustChangePassword"] is False
    assert "mustChangePassword" not in await sign_in(client, account.email, NEW_PASSWORD)


async def test_a_restricted_token_may_sign_out(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    signed = await sign_in(client, account.email, await reset(client, admin_headers, account))
    data(await client.post(f"{API}/auth/logout", headers=bearer(signed["token"])))
    failure(await client.get(f"{API}/auth/me", headers=bearer(signed["token"])), 401)


async def test_the_forced_change_can_be_turned_off(make_app: AppFactory) -> None:
    application = await make_app(force_password_change=False)
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        admin = bearer((await sign_in(http, ADMIN_EMAIL, ADMIN_PASSWORD))["token"])
        account = await new_account(http, admin)
        signed = await sign_in(http, account.email, await reset(http, admin, account))
        assert "mustChangePassword" not in signed
        assert data(await http.get(f"{API}/roles", headers=bearer(signed["token"])))


async def refusal(url: str, token: str, language: str = "en") -> str | None:
    """The handshake's `connect_error` message, or None if it was accepted."""
    messages: list[str] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on(
        "connect_error",
        lambda data=None: messages.append(
            data.get("message") if isinstance(data, dict) else str(data)
        ),
    )
    try:
        await client.connect(
            url,
            auth={"token": token},
            headers={"Accept-Language": language},
            transports=["websocket"],
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError:
        assert messages, "refused without a connect_error"
        return messages[0]
    await client.disconnect()
    return None


async def test_restricted_tokens_are_refused_at_the_socket_handshake(
    live: Live,
) -> None:
    url, http, admin = live
    account = await new_account(http, admin)
    assert await refusal(url, account.token) is None
    signed = await sign_in(http, account.email, await reset(http, admin, account))
    assert await refusal(url, signed["token"]) == CHANGE_REQUIRED
    assert await refusal(url, signed["token"], "es") == "Debe cambiar su contraseña"

    role_id = await create_role(http, admin)
    data(await http.put(f"{API}/roles/{role_id}", headers=admin, json={"requireMfa": 1}))
    enrolling = await new_account(http, admin, role_id=role_id)
    assert await refusal(url, enrolling.token) == "Two-factor authentication required"
