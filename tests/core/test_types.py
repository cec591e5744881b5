"""The OpenAPI schema tells the truth: for each sample body, the published JSON schema and
the server's validation agree on whether it is acceptable."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, ValidationError

from seam_api.app import create_app
from seam_api.auth.schemas import RegisterForm
from seam_api.permissions.schemas import Assignment
from seam_api.roles.schemas import RoleCreate, RoleUpdate
from seam_api.sidebar.schemas import SidebarItemCreate, SidebarItemUpdate
from seam_api.users.schemas import UserStateUpdate, UserUpdate
from tests import conftest

LONG_EMAIL = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 58}.com"  # 255 characters
REGISTER = {"full_name": "Ada Lovelace", "email": "ada@example.com", "password": "secret-12"}

SAMPLES: list[tuple[type[BaseModel], dict[str, Any], bool]] = [
    # bodies that must name at least one field
    (RoleUpdate, {}, False),
    (RoleUpdate, {"roleName": None, "description": None}, False),
    (RoleUpdate, {"description": "x"}, True),
    (UserUpdate, {}, False),
    (UserUpdate, {"email": None}, False),
    (UserUpdate, {"unknown": 1}, False),
    (UserUpdate, {"email": None, "roleId": 2}, True),
    (SidebarItemUpdate, {}, False),
    (SidebarItemUpdate, {"nameItem": None}, False),
    (SidebarItemUpdate, {"iconItem": None}, True),
    # NUL characters
    (RoleCreate, {"roleName": "ab\u0000c"}, False),
    (RoleCreate, {"roleName": "abc", "description": "\u0000"}, False),
    (SidebarItemCreate, {"nameItem": "Home", "route": "/\u0000"}, False),
    (RegisterForm, {**REGISTER, "password": "secret\u0000-12"}, False),
    # integers written as 1.0
    (Assignment, {"roleId": 1.0, "permissionId": 2}, True),
    (Assignment, {"roleId": 1.5, "permissionId": 2}, False),
    (Assignment, {"roleId": "1", "permissionId": 2}, False),
    (UserStateUpdate, {"isActive": 0.0}, True),
    (UserStateUpdate, {"isActive": True}, False),
    # email length and reserved domains
    (RegisterForm, {**REGISTER, "email": LONG_EMAIL}, False),
    (RegisterForm, {**REGISTER, "email": LONG_EMAIL[1:]}, True),
    (RegisterForm, {**REGISTER, "email": "someone@example.test"}, False),
    # names of blanks only, or too short once trimmed
    (RoleCreate, {"roleName": "   "}, False),
    (RoleCreate, {"roleName": " a "}, False),
    (RoleCreate, {"roleName": " ab "}, True),
    (RoleCreate, {"roleName": "a\nb"}, True),
    (SidebarItemCreate, {"nameItem": "\t\n"}, False),
    (RegisterForm, {**REGISTER, "full_name": " \u3000 "}, False),
    (RoleCreate, {"roleName": "a" * 50 + " "}, False),  # the limit counts what is sent
]


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    application = create_app(conftest.test_settings("sqlite+aiosqlite:///:memory:"))
    return dict(application.api.openapi()["components"]["schemas"])


def schema_accepts(components: dict[str, Any], name: str, body: dict[str, Any]) -> bool:
    schema = {**components[name], "components": {"schemas": components}}
    validator = jsonschema_rs.Draft202012Validator(schema)
    return validator.is_valid(body)


def server_accepts(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate_json(json.dumps(body))
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("model", "body", "acceptable"), SAMPLES)
def test_schema_and_validation_agree(
    components: dict[str, Any], model: type[BaseModel], body: dict[str, Any], acceptable: bool
) -> None:
    assert server_accepts(model, body) is acceptable
    assert schema_accepts(components, model.__name__, body) is acceptable
