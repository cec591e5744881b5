"""Contract 9.6: password reset and invitations by email, sent to a real SMTP server.

The link works once, for its lifetime; a request for an unknown email answers exactly as for a
known one and sends nothing; a down or slow mail server never slows or changes the answer, and
each failed attempt is logged (without secrets) and counted.
"""

from __future__ import annotations

import logging
import re
import time
from email.utils import parseaddr
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from seam_api.app import Application
from seam_api.models import mail_tokens
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer, free_port, login
from tests.helpers import API, PASSWORD, data, failure, register, unique_email
from tests.mailbox import Received, SmtpSink

NEW_PASSWORD = "a-new-password-1"
PUBLIC_URL = "https://console.example"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/admin/reset#token=([A-Za-z0-9_-]+)")


async def mail_app(make_app: AppFactory, smtp_url: str, **settings: Any) -> Application:
    application = await make_app(smtp_url=smtp_url, public_url=PUBLIC_URL, **settings)
    assert application.seam.mail is not None
    application.seam.mail.retry_delays = (0.05, 0.05)
    return application


@pytest.fixture
async def app(make_app: AppFactory, smtp: SmtpSink) -> Application:
    return await mail_app(make_app, smtp.url)


@pytest.fixture
async def admin(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, str]:
    return admin_headers


def token_in(received: Received) -> str:
    match = LINK.search(received.part("plain"))
    assert match, received.part("plain")
    return match.group(1)


async def user_with_reset_link(
    http: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> tuple[dict[str, Any], str]:
    """A new user who asked for a reset, and the token of the link they were mailed."""
    user = await register(http, admin)
    data(await forgot(http, user["email"]), 202)
    (received,) = await smtp.inbox.wait_for(1)
    return user, token_in(received)


async def forgot(http: httpx.AsyncClient, email: str, **headers: str) -> httpx.Response:
    return await http.post(f"{API}/auth/password/forgot", json={"email": email}, headers=headers)


async def reset(
    http: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    body = {"token": token, "password": password}
    return await http.post(f"{API}/auth/password/reset", json=body)


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> int:
    body = {"email": email, "password": password}
    return (await http.post(f"{API}/auth/login", json=body)).status_code


async def test_without_smtp_the_three_mail_routes_answer_503(make_app: AppFactory) -> None:
    application = await make_app()
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        answers = [
            await forgot(http, "someone@example.com"),
            await reset(http, "x" * 43),
            await http.post(f"{API}/users/1/invite", headers=admin),
        ]
        options = data(await http.get(f"{API}/auth/password/options"))
    for answer in answers:
        assert failure(answer, 503)["message"] == "Email is not configured"
    assert options == {"resetByEmail": False}


async def test_the_sign_in_page_may_offer_a_reset_when_mail_is_configured(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(f"{API}/auth/password/options")

    assert data(answer) == {"resetByEmail": True}


async def test_a_reset_link_sets_the_password_once_and_ends_every_session(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    user = await register(client, admin)
    old_session = bearer(await login(client, user["email"], PASSWORD))

    assert data(await forgot(client, user["email"]), 202) is None
    (received,) = await smtp.inbox.wait_for(1)
    assert received.rcpt_tos == [user["email"]]
    token = token_in(received)
    data(await reset(client, token))

    assert await sign_in(client, user["email"], NEW_PASSWORD) == 200
    assert await sign_in(client, user["email"], PASSWORD) == 401
    failure(await client.get(f"{API}/roles", headers=old_session), 401)
    again = failure(await reset(client, token, "another-password-2"), 400)
    assert "link" in again["message"]
    assert await sign_in(client, user["email"], NEW_PASSWORD) == 200


async def test_the_email_says_how_long_the_link_is_valid_in_text_and_html(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    user = await register(client, admin)

    data(await forgot(client, user["email"]), 202)

    (received,) = await smtp.inbox.wait_for(1)
    assert received.message["Subject"] == "Reset your SEAM API password"
    assert "30 minutes" in received.part("plain")
    html = received.part("html")
    assert f'href="{PUBLIC_URL}/admin/reset#token={token_in(received)}"' in html
    assert "30 minutes" in html


async def test_the_email_follows_the_requesters_language(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    user = await register(client, admin)

    data(await forgot(client, user["email"], **{"Accept-Language": "es"}), 202)

    (received,) = await smtp.inbox.wait_for(1)
    assert received.message["Subject"] == "Restablezca su contraseña de SEAM API"
    assert "30 minutos" in received.part("plain")


async def test_forgot_answers_alike_for_unknown_and_known_emails_and_sends_nothing_unknown(
    app: Application, client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    user = await register(client, admin)
    disabled = await register(client, admin)
    body = {"isActive": 0}
    data(await client.put(f"{API}/users/{disabled['idUser']}/state", headers=admin, json=body))

    answers = []
    for email in ("nobody-here@example.com", disabled["email"], user["email"]):
        started = time.perf_counter()
        answer = await forgot(client, email)
        answers.append((answer.status_code, answer.json(), time.perf_counter() - started < 1.0))
    assert answers[0] == answers[1] == answers[2] == (202, answers[0][1], True)

    assert app.seam.mail is not None
    await app.seam.mail.drain(5)
    assert [r.rcpt_tos for r in smtp.inbox.received] == [[user["email"]]]


async def test_an_expired_reset_link_is_400(
    app: Application, client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    user, token = await user_with_reset_link(client, admin, smtp)
    async with app.seam.db.transaction() as conn:
        await conn.execute(update(mail_tokens).values(expires_at=int(time.time() * 1000) - 1))

    failure(await reset(client, token), 400)
    assert await sign_in(client, user["email"], PASSWORD) == 200


async def test_a_reset_link_of_a_deleted_account_is_400(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    user, token = await user_with_reset_link(client, admin, smtp)

    data(await client.delete(f"{API}/users/{user['idUser']}", headers=admin))

    failure(await reset(client, token), 400)


async def test_a_wrong_or_truncated_token_is_400_and_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    user, token = await user_with_reset_link(client, admin, smtp)

    for wrong in (token[:-1], token + "A", "not-a-token"):
        failure(await reset(client, wrong), 400)
    assert await sign_in(client, user["email"], PASSWORD) == 200
    data(await reset(client, token))


async def test_forgot_is_limited_per_email_whether_or_not_it_has_an_account(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    user = await register(client, admin)

    for email in (user["email"], "nobody-at-all@example.com"):
        statuses = [(await forgot(client, email)).status_code for _ in range(4)]
        assert statuses == [202, 202, 202, 429]


async def test_a_name_with_line_breaks_adds_no_header_or_recipient(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    email = unique_email()
    body = {
        "full_name": "Eve\r\nBcc: victim@example.com\r\nSubject: pwned",
        "email": email,
        "password": PASSWORD,
    }
    data(await client.post(f"{API}/auth/register", headers=admin, json=body), 201)

    data(await forgot(client, email), 202)

    (received,) = await smtp.inbox.wait_for(1)
    assert received.rcpt_tos == [email]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Reset your SEAM API password"
    assert len(received.message.get_all("To") or []) == 1
    assert received.message["To"].addresses[0].addr_spec == email


async def test_an_email_with_line_breaks_is_refused_before_any_mail(
    client: httpx.AsyncClient, smtp: SmtpSink
) -> None:
    failure(await forgot(client, "eve@example.com\r\nBcc: victim@example.com"), 400)


async def test_an_invited_account_signs_in_only_after_setting_its_password(
    app: Application, client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    email = unique_email()
    body = {"full_name": "Invited Person", "email": email}
    user = data(await client.post(f"{API}/auth/register", headers=admin, json=body), 201)
    assert await sign_in(client, email, "anything-at-all") == 401

    answer = await client.post(f"{API}/users/{user['idUser']}/invite", headers=admin)

    assert data(answer, 202) is None
    (received,) = await smtp.inbox.wait_for(1)
    assert "7 days" in received.part("plain")
    assert received.message["Subject"] == "Your SEAM API account is ready"
    data(await reset(client, token_in(received)))
    assert await sign_in(client, email, NEW_PASSWORD) == 200


async def test_inviting_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    failure(await client.post(f"{API}/users/999999/invite", headers=admin), 404)
    assert smtp.inbox.received == []


async def test_anonymous_self_registration_still_needs_a_password(make_app: AppFactory) -> None:
    application = await make_app(self_registration=True)
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        body = {"full_name": "No Password", "email": unique_email()}
        answer = failure(await http.post(f"{API}/auth/register", json=body), 400)
    assert [e["field"] for e in answer["errors"]] == ["password"]


def failures_counted(kind: str) -> float:
    return REGISTRY.get_sample_value("seam_mail_failures_total", {"kind": kind}) or 0.0


async def test_smtp_down_answers_at_once_then_logs_and_counts_each_failed_attempt(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "smtp-secret-password"
    application = await mail_app(make_app, f"smtp://mailer:{secret}@127.0.0.1:{free_port()}")
    assert application.seam.mail is not None
    application.seam.mail.retry_delays = (1.0, 1.0)
    before = failures_counted("invite")
    transport = httpx.ASGITransport(app=application.asgi)
    caplog.set_level(logging.WARNING, logger="seam_api.mail")
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        started = time.perf_counter()
        answer = await http.post(f"{API}/users/1/invite", headers=bearer(token))
        assert time.perf_counter() - started < 1.0  # shorter than the first retry's pause
    data(answer, 202)

    await application.seam.mail.drain(10)
    assert failures_counted("invite") - before == 3
    failed = [r for r in caplog.records if "sending the invite email failed" in r.getMessage()]
    assert len(failed) == 3
    assert "gave up sending the invite email" in caplog.text
    assert secret not in caplog.text and "token=" not in caplog.text


async def test_a_slow_smtp_server_times_out_without_slowing_the_request(
    make_app: AppFactory, smtp: SmtpSink
) -> None:
    smtp.inbox.delay = 3.0
    application = await mail_app(make_app, smtp.url, smtp_timeout=1.0)
    assert application.seam.mail is not None
    application.seam.mail.retry_delays = ()
    before = failures_counted("invite")
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        started = time.perf_counter()
        answer = await http.post(f"{API}/users/1/invite", headers=bearer(token))
        assert time.perf_counter() - started < 1.0  # shorter than the SMTP timeout alone
    data(answer, 202)

    await application.seam.mail.drain(5)
    assert failures_counted("invite") - before == 1
    assert smtp.inbox.received == []


async def test_an_import_with_invitations_hashes_nothing_and_mails_each_account_a_link(
    client: httpx.AsyncClient, admin: dict[str, str], smtp: SmtpSink
) -> None:
    rows = [{"full_name": f"Imported {n}", "email": unique_email()} for n in range(3)]
    body = {"rows": rows, "invite": True}
    created = data(await client.post(f"{API}/users/import", headers=admin, json=body))["created"]

    assert [user["temporaryPassword"] for user in created] == [None, None, None]
    received = await smtp.inbox.wait_for(3)
    to = {parseaddr(mail.message["To"])[1]: mail for mail in received}
    assert sorted(to) == sorted(row["email"] for row in rows)
    first = to[rows[0]["email"]]
    assert await sign_in(client, rows[0]["email"], "anything-at-all") == 401
    data(await reset(client, token_in(first)))
    assert await sign_in(client, rows[0]["email"], NEW_PASSWORD) == 200
