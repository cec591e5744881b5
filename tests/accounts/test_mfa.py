"""Second factor (contract 9.3): enrolment, two-step sign-in, single-use codes and tokens,
limits, roles that require it, and an administrator clearing it."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from sqlalchemy import select

from seam_api.app import Application
from seam_api.models import mfa_recovery_codes, mfa_totp
from tests.accounts import (
    at_step_start,
    challenge,
    code_at,
    enable_mfa,
    new_account,
    second_step,
    sign_in,
)
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, AppFactory, bearer
from tests.helpers import API, PASSWORD, create_role, data, failure, grant


async def test_enrolment_answers_a_secret_its_uri_and_an_svg_qr_code(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    enrolment = data(await client.post(f"{API}/auth/mfa/totp", headers=account.headers))
    assert enrolment["otpauthUri"].startswith("otpauth://totp/")
    assert f"secret={enrolment['secret']}" in enrolment["otpauthUri"]
    assert enrolment["qrSvg"].startswith("<svg")
    me = data(await client.get(f"{API}/auth/me", headers=account.headers))
    assert me["mfaEnabled"] is False  # pending until confirmed


async def test_confirmation_answers_ten_recovery_codes_and_turns_mfa_on(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    _secret, codes = await enable_mfa(client, account.headers, monkeypatch)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert data(await client.get(f"{API}/auth/me", headers=account.headers))["mfaEnabled"] is True


async def test_secrets_and_codes_are_stored_sealed_and_hashed(
    app: Application,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = await new_account(client, admin_headers)
    secret, codes = await enable_mfa(client, account.headers, monkeypatch)
    async with app.seam.db.read() as conn:
        stored = (await conn.execute(select(mfa_totp.c.secret))).scalars().all()
        hashes = (await conn.execute(select(mfa_recovery_codes.c.code_hash))).scalars().all()
    assert stored and all(secret not in value for value in stored)
    assert len(hashes) == 10
    assert not {code.replace("-", "") for code in codes} & set(hashes)
    audit = await client.get(f"{API}/audit", headers=admin_headers, params={"entity": "mfa"})
    assert data(audit)
    assert secret not in audit.text and not any(code in audit.text for code in codes)


async def test_sign_in_with_mfa_takes_the_password_then_a_code(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    secret, _codes = await enable_mfa(client, account.headers, monkeypatch)
    await at_step_start()
    mfa_token = await challenge(client, account.email)
    signed = data(await second_step(client, mfa_token, code_at(secret)))
    assert signed["token"] and signed["refreshToken"] and signed["user"]["idUser"] == account.id
    assert data(await client.get(f"{API}/roles", headers=bearer(signed["token"])))


async def test_an_mfa_token_as_a_bearer_token_is_401(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    await enable_mfa(client, account.headers, monkeypatch)
    mfa_token = await challenge(client, account.email)
    failure(await client.get(f"{API}/auth/me", headers=bearer(mfa_token)), 401)
    failure(await client.get(f"{API}/roles", headers=bearer(mfa_token)), 401)


async def test_a_replayed_totp_code_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    secret, _codes = await enable_mfa(client, account.headers, monkeypatch)
    await at_step_start()
    code = code_at(secret)
    data(await second_step(client, await challenge(client, account.email), code))
    failure(await second_step(client, await challenge(client, account.email), code), 401)


async def test_the_previous_steps_code_is_accepted_and_two_steps_ago_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    secret, _codes = await enable_mfa(client, account.headers, monkeypatch)
    await at_step_start()
    too_old = code_at(secret, -2)
    failure(await second_step(client, await challenge(client, account.email), too_old), 401)
    previous = code_at(secret, -1)
    data(await second_step(client, await challenge(client, account.email), previous))


async def test_a_recovery_code_signs_in_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    _secret, codes = await enable_mfa(client, account.headers, monkeypatch)
    data(await second_step(client, await challenge(client, account.email), codes[0]))
    failure(await second_step(client, await challenge(client, account.email), codes[0]), 401)
    # Spelled in capitals without its dash, another one still works.
    other = codes[1].replace("-", "").upper()
    data(await second_step(client, await challenge(client, account.email), other))


async def test_an_mfa_token_is_usable_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    _secret, codes = await enable_mfa(client, account.headers, monkeypatch)
    mfa_token = await challenge(client, account.email)
    data(await second_step(client, mfa_token, codes[0]))
    failure(await second_step(client, mfa_token, codes[1]), 401)
    # The refused attempt did not spend the recovery code it carried.
    data(await second_step(client, await challenge(client, account.email), codes[1]))


async def test_an_expired_mfa_token_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    _secret, codes = await enable_mfa(client, account.headers, monkeypatch)
    now = int(time.time())
    claims = {
        "sub": str(account.id),
        "typ": "mfa",
        "iat": now - 400,
        "exp": now - 100,
        "jti": str(uuid.uuid4()),
    }
    expired = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    failure(await second_step(client, expired, codes[0]), 401)


async def test_wrong_codes_are_limited_like_passwords(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = await make_app(login_max_failures_per_account=2)
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        admin = bearer((await sign_in(http, ADMIN_EMAIL, ADMIN_PASSWORD))["token"])
        account = await new_account(http, admin)
        _secret, codes = await enable_mfa(http, account.headers, monkeypatch)
        mfa_token = await challenge(http, account.email)
        for _ in range(2):
            failure(await second_step(http, mfa_token, "000000"), 401)
        # Even the right code waits now, and so does the password: they share one count.
        failure(await second_step(http, mfa_token, codes[0]), 429)
        body = {"email": account.email, "password": PASSWORD}
        failure(await http.post(f"{API}/auth/login", json=body), 429)


async def test_disabling_needs_a_current_code_or_the_password(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    _secret, codes = await enable_mfa(client, account.headers, monkeypatch)
    url = f"{API}/auth/mfa/totp"
    failure(await client.request("DELETE", url, headers=account.headers, json={}), 400)
    wrong = {"password": "not-the-password"}
    failure(await client.request("DELETE", url, headers=account.headers, json=wrong), 401)
    body = {"code": codes[0]}
    data(await client.request("DELETE", url, headers=account.headers, json=body))
    assert data(await client.get(f"{API}/auth/me", headers=account.headers))["mfaEnabled"] is False
    assert "token" in await sign_in(client, account.email)  # one step again

    await enable_mfa(client, account.headers, monkeypatch)
    body = {"password": PASSWORD}
    data(await client.request("DELETE", url, headers=account.headers, json=body))


async def test_a_role_requiring_mfa_restricts_its_users_until_they_enrol(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    role_id = await create_role(client, admin_headers)
    role = data(
        await client.put(f"{API}/roles/{role_id}", headers=admin_headers, json={"requireMfa": 1})
    )
    assert role["requireMfa"] == 1
    account = await new_account(client, admin_headers, role_id=role_id)
    signed = await sign_in(client, account.email)
    assert signed["mfaEnrolmentRequired"] is True
    headers = bearer(signed["token"])
    refused = failure(await client.get(f"{API}/roles", headers=headers), 403)
    assert refused["message"] == "Two-factor authentication required"
    body = {"currentPassword": PASSWORD, "newPassword": "another-password-2"}
    failure(await client.put(f"{API}/auth/password", headers=headers, json=body), 403)
    # A refresh keeps the restriction.
    refreshed = data(
        await client.post(f"{API}/auth/refresh", json={"refreshToken": signed["refreshToken"]})
    )
    failure(await client.get(f"{API}/roles", headers=bearer(refreshed["token"])), 403)
    me = data(await client.get(f"{API}/auth/me", headers=headers))
    assert me["mfaEnabled"] is False and me["mfaEnrolmentRequired"] is True
    await enable_mfa(client, headers, monkeypatch)
    me = data(await client.get(f"{API}/auth/me", headers=headers))
    assert me["mfaEnabled"] is True and me["mfaEnrolmentRequired"] is False
    assert data(await client.get(f"{API}/roles", headers=headers))  # enrolled: lifted


async def test_an_administrator_clears_a_users_second_factor(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    await enable_mfa(client, account.headers, monkeypatch)
    data(await client.delete(f"{API}/users/{account.id}/mfa", headers=admin_headers))
    assert "token" in await sign_in(client, account.email)
    failure(await client.delete(f"{API}/users/999999/mfa", headers=admin_headers), 404)
    other = await new_account(client, admin_headers)
    failure(await client.delete(f"{API}/users/{account.id}/mfa", headers=other.headers), 403)


async def test_administrators_read_whether_a_user_has_a_second_factor(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await new_account(client, admin_headers)
    url = f"{API}/users/{account.id}/mfa"

    assert data(await client.get(url, headers=admin_headers)) == {"mfaEnabled": False}
    data(await client.post(f"{API}/auth/mfa/totp", headers=account.headers))
    assert data(await client.get(url, headers=admin_headers)) == {"mfaEnabled": False}  # pending
    await enable_mfa(client, account.headers, monkeypatch)
    assert data(await client.get(url, headers=admin_headers)) == {"mfaEnabled": True}
    data(await client.delete(url, headers=admin_headers))
    assert data(await client.get(url, headers=admin_headers)) == {"mfaEnabled": False}
    failure(await client.get(f"{API}/users/999999/mfa", headers=admin_headers), 404)


async def test_reading_a_users_second_factor_needs_the_routes_permission(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    reader = await new_account(client, admin_headers, role_id=role_id)
    url = f"{API}/users/1/mfa"
    failure(await client.get(url, headers=reader.headers), 403)
    await grant(client, admin_headers, role_id=role_id, name_uri="GET /api/v1/users/:id/mfa")
    assert data(await client.get(url, headers=reader.headers)) == {"mfaEnabled": False}
    failure(await client.delete(url, headers=reader.headers), 403)
