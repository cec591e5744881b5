"""First run: a taken port stops `seam-api serve` before anything is created, with a way
out; the default admin address is one the API accepts; a re-run never adds a second admin."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from seam_api.bootstrap import bootstrap
from seam_api.core.types import Email
from seam_api.settings import Settings
from seam_api.users import repository as users_repository
from tests.conftest import ADMIN_EMAIL, AppFactory
from tests.helpers import API, data
from tests.test_cli import run


def test_a_taken_port_stops_serve_before_the_database_and_says_how_to_pick_another(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, "serve", "--port", str(port))
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
    assert "SEAM_PORT" in result.stderr and "--port" in result.stderr
    assert "Errno 98" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "seam.db").exists()  # no admin created whose password nobody saw


def test_the_default_admin_address_passes_the_apis_own_email_rules() -> None:
    default = Settings(_env_file=None).admin_email
    assert TypeAdapter(Email).validate_python(default) == default


def test_an_admin_address_the_api_would_refuse_stops_the_settings() -> None:
    with pytest.raises(ValidationError, match="admin_email"):
        Settings(_env_file=None, admin_email="admin@seam.local")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_admin_can_be_given_its_own_address_back_through_the_api(
    make_app: AppFactory,
) -> None:
    application = await make_app()
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        body = {"email": ADMIN_EMAIL, "password": "admin-password-1"}
        login = data(await http.post(f"{API}/auth/login", json=body))
        headers = {"Authorization": f"Bearer {login['token']}"}
        admin_id = login["user"]["idUser"]
        edited = data(
            await http.put(f"{API}/users/{admin_id}", headers=headers, json={"email": ADMIN_EMAIL})
        )
    assert edited["email"] == ADMIN_EMAIL


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_rerun_with_another_admin_address_adds_no_second_admin(
    make_app: AppFactory,
) -> None:
    application = await make_app()
    moved = application.seam.settings.model_copy(update={"admin_email": "root@example.org"})
    application.seam.settings = moved
    report = await bootstrap(application.seam, application.routes)
    assert not report.admin_created and report.admin_password is None
    async with application.seam.db.read() as conn:
        assert not await users_repository.email_taken(conn, email="root@example.org")
