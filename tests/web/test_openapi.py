"""/openapi.json: readable operation ids and model names, the bearer scheme on guarded routes,
`X-Socket-ID` declared everywhere; Swagger UI and ReDoc served from the package."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from seam_api.app import create_app
from tests import conftest

OPERATION_IDS = {
    ("post", "/api/v1/auth/register"): "register",
    ("post", "/api/v1/auth/login"): "login",
    ("post", "/api/v1/auth/logout"): "logout",
    ("get", "/api/v1/users"): "listUsers",
    ("get", "/api/v1/users/{id}"): "getUser",
    ("put", "/api/v1/users/{id}"): "updateUser",
    ("delete", "/api/v1/users/{id}"): "deleteUser",
    ("get", "/api/v1/users/{id}/sessions"): "listUserSessions",
    ("delete", "/api/v1/users/{id}/sessions"): "revokeUserSessions",
    ("get", "/api/v1/users/{id}/keys"): "listUserApiKeys",
    ("delete", "/api/v1/users/{id}/keys/{idKey}"): "revokeUserApiKey",
    ("get", "/api/v1/users/{id}/mfa"): "getUserMfa",
    ("delete", "/api/v1/users/{id}/mfa"): "resetUserMfa",
    ("post", "/api/v1/auth/login/mfa"): "loginMfa",
    ("post", "/api/v1/auth/refresh"): "refreshToken",
    ("get", "/api/v1/auth/me"): "getMe",
    ("put", "/api/v1/auth/me"): "updateMe",
    ("put", "/api/v1/auth/password"): "changePassword",
    ("post", "/api/v1/auth/mfa/totp"): "enrolTotp",
    ("delete", "/api/v1/auth/mfa/totp"): "disableTotp",
    ("post", "/api/v1/auth/mfa/totp/confirm"): "confirmTotp",
    ("get", "/api/v1/auth/sessions"): "listOwnSessions",
    ("delete", "/api/v1/auth/sessions"): "revokeOtherSessions",
    ("delete", "/api/v1/auth/sessions/{idSession}"): "revokeOwnSession",
    ("put", "/api/v1/users/{id}/state"): "setUserState",
    ("put", "/api/v1/users/{id}/resetPassword"): "resetUserPassword",
    ("get", "/api/v1/roles"): "listRoles",
    ("post", "/api/v1/roles"): "createRole",
    ("put", "/api/v1/roles/{idRole}"): "updateRole",
    ("delete", "/api/v1/roles/{idRole}"): "deleteRole",
    ("get", "/api/v1/permission"): "listPermissions",
    ("post", "/api/v1/permission/register"): "createPermission",
    ("get", "/api/v1/permission/getByRoleId"): "listRolePermissions",
    ("get", "/api/v1/permission/getByNameUri"): "findPermissionsByNameUri",
    ("post", "/api/v1/permission/assign"): "assignPermission",
    ("delete", "/api/v1/permission/unassign"): "unassignPermission",
    ("delete", "/api/v1/permission/{id}"): "deletePermission",
    ("get", "/api/v1/sidebar"): "getMySidebar",
    ("get", "/api/v1/sidebar/all"): "listSidebarItems",
    ("get", "/api/v1/auth/capabilities"): "getCapabilities",
    ("post", "/api/v1/users/import"): "importUsers",
    ("post", "/api/v1/sidebar"): "createSidebarItem",
    ("put", "/api/v1/sidebar/{idItem}"): "updateSidebarItem",
    ("delete", "/api/v1/sidebar/{idItem}"): "deleteSidebarItem",
    ("post", "/api/v1/sidebar/{idItem}/role/{idRole}"): "assignSidebarItem",
    ("delete", "/api/v1/sidebar/{idItem}/role/{idRole}"): "unassignSidebarItem",
    ("get", "/api/v1/audit"): "listAuditEntries",
    ("get", "/api/v1/audit/export"): "exportAuditEntries",
    ("get", "/api/v1/audit/{eventId}"): "getAuditEntry",
    ("post", "/api/v1/auth/keys"): "createApiKey",
    ("get", "/api/v1/auth/keys"): "listApiKeys",
    ("delete", "/api/v1/auth/keys/{idKey}"): "revokeApiKey",
    ("get", "/api/v1/auth/password/options"): "getPasswordOptions",
    ("post", "/api/v1/auth/password/forgot"): "forgotPassword",
    ("post", "/api/v1/auth/password/reset"): "resetPassword",
    ("post", "/api/v1/users/{id}/invite"): "inviteUser",
    ("get", "/healthz"): "checkHealth",
    ("get", "/readyz"): "checkReadiness",
}
ANONYMOUS = {
    "login",
    "loginMfa",
    "refreshToken",
    "getPasswordOptions",
    "forgotPassword",
    "resetPassword",
    "checkHealth",
    "checkReadiness",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    application = create_app(conftest.test_settings("sqlite+aiosqlite:///:memory:"))
    return application.api.openapi()


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def test_every_operation_has_its_stable_readable_id(schema: dict[str, Any]) -> None:
    found = {key: operation["operationId"] for key, operation in operations(schema).items()}
    assert found == OPERATION_IDS


def test_model_names_are_plain_words(schema: dict[str, Any]) -> None:
    names = set(schema["components"]["schemas"])
    assert {"User", "UserEnvelope", "UserListEnvelope", "EmptyEnvelope"} <= names
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) for name in names), names
    assert not any(name.endswith("Out") for name in names), names


def test_guarded_operations_declare_the_bearer_scheme(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for operation in operations(schema).values():
        security = operation.get("security")
        if operation["operationId"] in ANONYMOUS:
            assert security is None, operation["operationId"]
        elif operation["operationId"] == "register":
            assert security == [{}, {"bearerAuth": []}]  # anonymous when self-registration is on
        else:
            assert security == [{"bearerAuth": []}], operation["operationId"]


def test_every_api_operation_declares_the_socket_id_header(schema: dict[str, Any]) -> None:
    for (_method, path), operation in operations(schema).items():
        if not path.startswith("/api/v1"):
            continue
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [header["name"] for header in headers] == ["X-Socket-ID"], path


def test_the_schema_points_at_nothing_outside_the_project(schema: dict[str, Any]) -> None:
    assert "CONTRACT" not in str(schema)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_packaged_files(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', response.text)
    assert assets and "//" not in "".join(assets), assets
    assert "cdn" not in response.text and "googleapis" not in response.text
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500, asset
