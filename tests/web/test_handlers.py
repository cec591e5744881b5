"""Validation errors people can hit read as sentences in their language (reference §1, §8):
a body field named by its label, a query or path parameter by its name, each a 400 whose
`errors` name the field; never pydantic's English for programmers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from seam_api.app import Application
from seam_api.messages import CATALOGUES
from tests.helpers import API, failure

SPANISH = {"Accept-Language": "es"}
# pydantic's own wording ("Input should be 'idUser', ...", "Field required", ...).
PYDANTIC = re.compile(r"Input should|should have|Field required|Value error|unable to")


@pytest.fixture
def backend() -> str:
    """The wording of a 400 never reaches a database."""
    return "sqlite"


async def errors_of(response: httpx.Response) -> dict[str, str]:
    return {error["field"]: error["message"] for error in failure(response, 400)["errors"]}


@pytest.mark.parametrize(
    ("query", "field", "english", "spanish"),
    [
        (
            "sort=bogus",
            "sort",
            "Parameter sort must be one of: idUser, -idUser, full_name, -full_name, email, "
            "-email, roleName, -roleName",
            "El parámetro sort debe ser uno de: idUser, -idUser, full_name, -full_name, email, "
            "-email, roleName, -roleName",
        ),
        ("isActive=2", "isActive", "Parameter isActive must be 1 or less", None),
        ("isActive=yes", "isActive", "Parameter isActive must be a whole number", None),
        (
            "roleId=abc",
            "roleId",
            "Parameter roleId must be a whole number",
            "El parámetro roleId debe ser un número entero",
        ),
        ("roleId=0", "roleId", "Parameter roleId must be 1 or more", None),
        (
            "limit=500",
            "limit",
            "Parameter limit must be 200 or less",
            "El parámetro limit debe ser 200 o menos",
        ),
        ("limit=0", "limit", "Parameter limit must be 1 or more", None),
        ("withTotal=maybe", "withTotal", "Parameter withTotal must be true or false", None),
    ],
)
async def test_a_bad_list_parameter_is_a_sentence_naming_it(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    query: str,
    field: str,
    english: str,
    spanish: str | None,
) -> None:
    url = f"{API}/users?{query}"
    assert await errors_of(await client.get(url, headers=admin_headers)) == {field: english}
    in_spanish = await errors_of(await client.get(url, headers={**admin_headers, **SPANISH}))
    assert list(in_spanish) == [field]
    assert in_spanish[field].startswith(f"El parámetro {field} ")
    if spanish is not None:
        assert in_spanish[field] == spanish


async def test_the_other_lists_sort_and_a_path_id_are_sentences_too(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    roles = await errors_of(await client.get(f"{API}/roles?sort=name", headers=admin_headers))
    assert roles == {
        "sort": "Parameter sort must be one of: idRole, -idRole, roleName, -roleName, "
        "description, -description"
    }
    audit = await errors_of(
        await client.get(f"{API}/audit?from=yesterday&limit=0", headers=admin_headers)
    )
    assert audit == {
        "from": "Parameter from must be a date and time, such as 2030-01-31T12:00:00Z",
        "limit": "Parameter limit must be 1 or more",
    }
    path = await errors_of(await client.get(f"{API}/users/abc", headers=admin_headers))
    assert path == {"id": "Parameter id must be a whole number"}


@pytest.mark.parametrize(
    ("method", "path", "body", "english", "spanish"),
    [
        (
            "PUT",
            "/auth/me",
            {},
            {"full_name": "Name is required"},
            {"full_name": "El nombre no puede faltar"},
        ),
        (
            "PUT",
            "/auth/me",
            {"full_name": 7},
            {"full_name": "Name must be text"},
            {"full_name": "El nombre debe ser un texto"},
        ),
        (
            "PUT",
            "/auth/password",
            {"currentPassword": "", "newPassword": "abc"},
            {
                "currentPassword": "Current password cannot be empty",
                "newPassword": "New password must be at least 6 characters",
            },
            {
                "currentPassword": "La contraseña actual no puede quedar en blanco",
                "newPassword": "La nueva contraseña debe tener al menos 6 caracteres",
            },
        ),
        (
            "POST",
            "/auth/keys",
            {},
            {"name": "Name is required", "permissions": "Permission list is required"},
            {
                "name": "El nombre no puede faltar",
                "permissions": "La lista de permisos no puede faltar",
            },
        ),
        (
            "POST",
            "/auth/keys",
            {"name": " ", "permissions": "GET /api/v1/users", "expiresAt": "soon"},
            {
                "name": "Name cannot be empty",
                "permissions": "Permission list must be a list",
                "expiresAt": "Expiry must be a date and time, such as 2030-01-31T12:00:00Z",
            },
            {
                "name": "El nombre no puede quedar en blanco",
                "permissions": "La lista de permisos debe ser una lista",
                "expiresAt": "La caducidad debe ser una fecha y hora, como 2030-01-31T12:00:00Z",
            },
        ),
        (
            "POST",
            "/auth/keys",
            {"name": "k", "permissions": [7]},
            {"permissions": "A permission must be text"},
            {"permissions": "Un permiso debe ser un texto"},
        ),
        (
            "POST",
            "/auth/keys",
            {"name": "k", "permissions": [], "expiresAt": "2020-01-01T00:00:00Z"},
            {"expiresAt": "The expiry must be in the future"},
            {"expiresAt": "La caducidad debe estar en el futuro"},
        ),
        (
            "PUT",
            "/users/1/state",
            {"isActive": 2},
            {"isActive": "Status must be 1 or less"},
            {"isActive": "El estado debe ser 1 o menos"},
        ),
        (
            "PUT",
            "/sidebar/1",
            {"nameItem": None},
            {"nameItem": "Item name cannot be null"},
            {"nameItem": "El nombre del elemento no puede ser null"},
        ),
    ],
)
async def test_a_bad_body_field_is_a_sentence_naming_it_in_the_callers_language(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    english: dict[str, str],
    spanish: dict[str, str],
) -> None:
    answer = await client.request(method, f"{API}{path}", headers=admin_headers, json=body)
    assert await errors_of(answer) == english
    headers = {**admin_headers, **SPANISH}
    answer = await client.request(method, f"{API}{path}", headers=headers, json=body)
    assert await errors_of(answer) == spanish


def test_every_body_field_of_every_route_has_a_label_in_each_language(
    app: Application,
) -> None:
    """A body field without a label would be named by its raw name in a sentence."""
    schema = app.api.openapi()
    components = schema["components"]["schemas"]
    fields: set[str] = set()
    for operations in schema["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                fields |= set(properties(media["schema"], components))
    assert {"full_name", "permissions", "expiresAt", "currentPassword", "rows"} <= fields
    for locale, catalogue in CATALOGUES.items():
        assert not [name for name in sorted(fields) if f"label.{name}" not in catalogue], locale


def properties(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A body schema's properties, and those of the objects its lists hold."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    found = dict(schema.get("properties", {}))
    for value in list(found.values()):
        items = value.get("items")
        if isinstance(items, dict) and ("properties" in items or "$ref" in items):
            found |= properties(items, components)
    return found


async def test_no_route_answers_pydantics_wording_for_any_parameter_or_field(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Every route, each of its path and query parameters given a word where a number or a
    choice belongs, its body given the wrong type in every field, and then nothing: every
    field message, in both languages, is one of ours."""
    schema = app.api.openapi()
    messages: list[str] = []
    for template, operations in schema["paths"].items():
        if not template.startswith(API):
            continue
        for method, operation in operations.items():
            parameters = [p for p in operation.get("parameters", []) if p["in"] != "header"]
            path = re.sub(r"\{\w+\}", "1", template)
            calls: list[tuple[str, dict[str, Any] | None]] = []
            for parameter in parameters:
                if parameter["in"] == "path":
                    calls.append((template.replace(f"{{{parameter['name']}}}", "x"), None))
                elif method == "get":  # where a word is a fine value, a harmless read runs
                    calls.append((f"{path}?{parameter['name']}=x", None))
            if "requestBody" in operation:
                body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
                fields = properties(body_schema, schema["components"]["schemas"])
                calls.append((path, {name: [[1]] for name in fields}))
                calls.append((path, {}))
            for url, body in calls:
                for language in ("en", "es"):
                    headers = {**admin_headers, "Accept-Language": language}
                    answer = await client.request(method.upper(), url, headers=headers, json=body)
                    if answer.status_code == 400:
                        messages += [e["message"] for e in answer.json().get("errors", [])]
    assert len(messages) > 100
    assert not [message for message in messages if PYDANTIC.search(message)]
    # Every error type met has a sentence of its own, not the catch-all.
    assert not [message for message in messages if message.endswith(("is not valid", "válido"))]
