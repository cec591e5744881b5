"""The three ways to SEAM_SMTP_URL: STARTTLS and implicit TLS against a real TLS SMTP server
(a throwaway certificate the client is told to trust), and no silent fall back to plain text
when STARTTLS is asked for and the server does not offer it."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from seam_api.mail.sender import SmtpServer
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer, free_port, login
from tests.helpers import API, data
from tests.mailbox import Inbox, SmtpSink
from tests.passwords.test_router import failures_counted, mail_app


@pytest.fixture
def backend() -> str:
    """Transport security sits above the database."""
    return "sqlite"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
    command += ["-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server's TLS context; the client (OpenSSL's default paths) trusts its certificate."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def tls_sink(scheme: str, context: ssl.SSLContext) -> Iterator[SmtpSink]:
    inbox, port = Inbox(), free_port()
    options = (
        {"ssl_context": context}
        if scheme == "smtps"
        else {"tls_context": context, "require_starttls": True}
    )
    controller = Controller(inbox, hostname="localhost", port=port, **options)
    controller.start()
    try:
        yield SmtpSink(inbox, f"{scheme}://localhost:{port}")
    finally:
        controller.stop()


@pytest.fixture(params=["smtps", "smtp+starttls"])
def secure_smtp(request: pytest.FixtureRequest, trusted: ssl.SSLContext) -> Iterator[SmtpSink]:
    yield from tls_sink(request.param, trusted)


async def invite_admin(make_app: AppFactory, smtp_url: str) -> None:
    application = await mail_app(make_app, smtp_url)
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        data(await http.post(f"{API}/users/1/invite", headers=admin), 202)
    assert application.seam.mail is not None
    await application.seam.mail.drain(10)


async def test_mail_goes_over_implicit_tls_and_starttls(
    make_app: AppFactory, secure_smtp: SmtpSink
) -> None:
    await invite_admin(make_app, secure_smtp.url)

    (received,) = await secure_smtp.inbox.wait_for(1)
    assert received.rcpt_tos == [ADMIN_EMAIL]


async def test_starttls_asked_of_a_server_without_it_sends_nothing_in_plain_text(
    make_app: AppFactory, smtp: SmtpSink
) -> None:
    before = failures_counted("invite")

    await invite_admin(make_app, smtp.url.replace("smtp://", "smtp+starttls://"))

    assert smtp.inbox.received == []
    assert failures_counted("invite") - before == 3


@pytest.mark.parametrize(
    ("url", "port", "use_tls", "start_tls"),
    [
        ("smtp://mail.example.com", 25, False, False),
        ("smtps://mail.example.com", 465, True, False),
        ("smtp+starttls://mail.example.com", 587, False, True),
        ("smtp+starttls://mail.example.com:2525", 2525, False, True),
    ],
)
def test_the_url_names_port_and_transport(
    url: str, port: int, use_tls: bool, start_tls: bool
) -> None:
    server = SmtpServer.from_url(url)
    assert (server.port, server.use_tls, server.start_tls) == (port, use_tls, start_tls)


def test_credentials_are_read_from_the_url_and_kept_out_of_its_repr() -> None:
    server = SmtpServer.from_url("smtps://mailer%40example.com:p%40ss@mail.example.com")

    assert (server.username, server.password) == ("mailer@example.com", "p@ss")
    assert "p@ss" not in repr(server) and "mailer" not in repr(server)
