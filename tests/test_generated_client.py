"""A Python client generated from the live server's /openapi.json (openapi-python-client)
signs in, lists users, creates a role and reads an error envelope: the schema is usable as a
contract, not just as documentation."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server
from tests.helpers import unique

GENERATOR = str(Path(sys.executable).with_name("openapi-python-client"))
PACKAGE = "seam_generated_client"
CONFIG = f"post_hooks: []\npackage_name_override: {PACKAGE}\n"


@pytest.fixture(scope="module")
def generated(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package, imported; its modules are forgotten afterwards."""
    tmp = tmp_path_factory.mktemp("client")
    (tmp / "openapi.json").write_bytes(httpx.get(f"{server.url}/openapi.json", timeout=30).content)
    (tmp / "config.yaml").write_text(CONFIG)
    result = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--output-path",
            "out",
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(tmp / "out"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp / "out"))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def module(generated: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{generated.__name__}.{name}")


def test_generated_client_signs_in_lists_users_and_creates_a_role(
    generated: ModuleType, server: Server
) -> None:
    models = module(generated, "models")
    login = module(generated, "api.auth.login")
    list_users = module(generated, "api.users.list_users")
    create_role = module(generated, "api.roles.create_role")
    with generated.Client(base_url=server.url) as anonymous:
        signed_in = login.sync(
            client=anonymous, body=models.LoginForm(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        )
    assert isinstance(signed_in, models.LoginAnswerEnvelope), signed_in
    assert isinstance(signed_in.data, models.LoginResult)  # not an MFA challenge
    token = signed_in.data.token
    with generated.AuthenticatedClient(base_url=server.url, token=token) as admin:
        users = list_users.sync(client=admin, limit=50, x_socket_id="no-such-socket")
        assert isinstance(users, models.UserListEnvelope)
        assert ADMIN_EMAIL in [user.email for user in users.data]
        name = unique("generated")
        role = create_role.sync(client=admin, body=models.RoleCreate(role_name=name))
    assert isinstance(role, models.RoleEnvelope) and role.data.role_name == name


def test_generated_client_reads_the_error_envelope(generated: ModuleType, server: Server) -> None:
    models = module(generated, "models")
    list_users = module(generated, "api.users.list_users")
    with generated.Client(base_url=server.url) as anonymous:
        refused = list_users.sync(client=anonymous)
    assert isinstance(refused, models.ErrorEnvelope)
    assert refused.success is False and refused.message
