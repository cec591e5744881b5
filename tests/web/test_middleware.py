"""What every route shares (reference §1): unknown routes, bad bodies, status codes, language."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory
from tests.helpers import API, data, failure

SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}


async def test_unknown_route_is_a_404_envelope_naming_it(client: httpx.AsyncClient) -> None:
    body = failure(await client.get("/x"), 404)
    assert body == {"success": False, "message": "Route GET /x not found"}


async def test_unknown_method_on_a_known_path_is_a_404_envelope(
    client: httpx.AsyncClient,
) -> None:
    body = failure(await client.patch(f"{API}/users"), 404)
    assert body["message"] == f"Route PATCH {API}/users not found"


async def test_malformed_json_is_a_400_with_errors(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/login",
        content=b'{"email": "admin@example.com", "password": ',
        headers={"Content-Type": "application/json"},
    )
    errors = failure(response, 400)["errors"]
    assert errors and all(error["field"] and error["message"] for error in errors)


async def test_wrong_types_are_a_400_naming_the_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"full_name": 12, "email": ["a@example.com"], "password": "secret-1", "roleId": "x"}
    response = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    fields = {error["field"] for error in failure(response, 400)["errors"]}
    assert fields == {"full_name", "email", "roleId"}


async def test_validation_failures_are_never_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad_requests = [
        ("POST", f"{API}/auth/login", {"email": 1}),
        ("POST", f"{API}/auth/login", [1, 2]),
        ("POST", f"{API}/auth/register", {"email": None}),
        ("GET", f"{API}/users?limit=x", None),
        ("PUT", f"{API}/users/1", {"roleId": "1"}),
        ("PUT", f"{API}/users/1/state", {"isActive": "0"}),
        ("POST", f"{API}/roles", {"roleName": 5}),
        ("PUT", f"{API}/roles/abc", {"roleName": "valid"}),
        ("POST", f"{API}/permission/register", {"nameUri": None}),
        ("GET", f"{API}/permission/getByRoleId?roleId=x", None),
        ("GET", f"{API}/permission/getByNameUri", None),
        ("POST", f"{API}/permission/assign", {"roleId": 1.5, "permissionId": 1}),
        ("DELETE", f"{API}/permission/unassign", {"roleId": 1}),
        ("POST", f"{API}/sidebar", {"nameItem": {"a": 1}}),
        ("PUT", f"{API}/sidebar/1", {"iconItem": 3}),
        ("POST", f"{API}/sidebar/x/role/1", None),
    ]
    for method, url, body in bad_requests:
        response = await client.request(method, url, headers=admin_headers, json=body)
        assert response.status_code == 400, (method, url, response.status_code, response.text)
        assert "errors" in failure(response, 400)


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    oversized = b'{"email": "' + b"a" * (1024 * 1024) + b'", "password": "x"}'
    response = await client.post(
        f"{API}/auth/login", content=oversized, headers={"Content-Type": "application/json"}
    )
    failure(response, 413)


async def test_accept_language_es_gives_spanish_errors(client: httpx.AsyncClient) -> None:
    headers = {**SPANISH, "Authorization": "Bearer not-a-token"}
    body = failure(await client.get(f"{API}/roles", headers=headers), 401)
    assert body["message"] == "Token inválido o expirado"
    body = failure(await client.get("/x", headers=SPANISH), 404)
    assert body["message"] == "Ruta GET /x no encontrada"


async def test_accept_language_es_gives_spanish_success_messages(
    client: httpx.AsyncClient,
) -> None:
    credentials = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    response = await client.post(f"{API}/auth/login", headers=SPANISH, json=credentials)
    data(response)
    assert response.json()["message"] == "Sesión iniciada exitosamente"


async def test_english_is_the_default_language(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer not-a-token"}
    body = failure(await client.get(f"{API}/roles", headers=headers), 401)
    assert body["message"] == "Invalid or expired token"


async def test_the_locale_setting_picks_the_language_when_the_request_names_none(
    make_app: AppFactory,
) -> None:
    application = await make_app(locale="es")
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        headers = {"Authorization": "Bearer not-a-token"}
        body = failure(await http.get(f"{API}/roles", headers=headers), 401)
        english = failure(await http.get("/x", headers={"Accept-Language": "en"}), 404)
    assert body["message"] == "Token inválido o expirado"
    assert english["message"] == "Route GET /x not found"


async def test_field_messages_of_a_validation_error_follow_the_language(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"full_name": " a ", "email": "not-an-email", "roleId": "x", "password": "abc"}
    spanish = await client.post(
        f"{API}/auth/register", headers={**admin_headers, **SPANISH}, json=body
    )
    english = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    messages_es = {e["field"]: e["message"] for e in failure(spanish, 400)["errors"]}
    messages_en = {e["field"]: e["message"] for e in failure(english, 400)["errors"]}
    assert messages_es == {
        "full_name": "El nombre debe tener al menos 2 caracteres",
        "email": "El correo no es una dirección de correo válida",
        "roleId": "El rol debe ser un número entero",
        "password": "La contraseña debe tener al menos 6 caracteres",
    }
    assert messages_en["full_name"] == "Name must be at least 2 characters"
    assert messages_en["email"].startswith("Email is not a valid email address: ")
    assert messages_en["password"] == "Password must be at least 6 characters"


async def test_a_body_naming_no_field_is_explained_in_the_language(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.put(f"{API}/roles/1", headers={**admin_headers, **SPANISH}, json={})
    (error,) = failure(response, 400)["errors"]
    assert error["message"] == "Indique al menos uno de: roleName, description, requireMfa"


async def test_a_name_of_blanks_is_trimmed_and_explained_in_words(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"full_name": "   ", "email": "blank@example.com", "password": "secret-password"}
    response = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    (error,) = failure(response, 400)["errors"]
    assert error == {"field": "full_name", "message": "Name must be at least 2 characters"}


async def test_a_bad_route_says_why_without_pydantics_prefix(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"nameItem": "x", "route": "javascript:alert(1)"}
    spanish = await client.post(f"{API}/sidebar", headers={**admin_headers, **SPANISH}, json=body)
    english = await client.post(f"{API}/sidebar", headers=admin_headers, json=body)
    assert failure(english, 400)["errors"][0]["message"] == (
        "Route must be a path or an http(s) address"
    )
    assert failure(spanish, 400)["errors"][0]["message"] == (
        "La ruta debe ser una ruta o una dirección http(s)"
    )
