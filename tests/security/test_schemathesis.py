"""Reference §1 and 4: fuzzing every operation of the app's own OpenAPI schema with schemathesis
finds no server error and no response that contradicts the documented schema.

Every answer, success or error, is checked against the envelope documented for its status. Each
operation gets MAX_EXAMPLES positive and negative cases, the same ones every run. The app runs on
schemathesis's own ASGI client (its event loop, its lifespan) over a SQLite file that this
module migrates and bootstraps first. Every case carries an admin token, so the fuzz reaches past
the guards into validation, the services and the database.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import ParameterLocation
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
)

from seam_api.app import ROUTERS, create_app
from seam_api.bootstrap import bootstrap
from seam_api.core import migrate
from seam_api.messages import t
from seam_api.security.credentials import TokenClaims, TokenSigner
from tests import conftest

MAX_EXAMPLES = 50
SPARE_ID = 1_000_000
EXISTING_IDS = st.integers(1, 12)
REQUEST_TIMEOUT = 60  # seconds; bcrypt on a busy machine, not a performance limit
UNREACHABLE_SMTP = "smtp://127.0.0.1:9"
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
OPERATIONS = sorted(
    (method, route.path)
    for router in ROUTERS
    for route in router.routes
    for method in getattr(route, "methods", ())
)


# A body naming a role or permission that does not exist, an emailed link's token that is not
# (or no longer) usable, or an API key expiry already past is refused with 400: a fact about the
# database or the clock that no schema can state, so it is not a schema-valid request refused.
UNSTATABLE_FACTS = {
    t(key, "en")
    for key in (
        "errors.role_unknown",
        "errors.permission_unknown",
        "errors.mail_token_invalid",
        "errors.key_expiry_past",
    )
}


# Likewise a new password equal to the current one (PUT /auth/password): schemas cannot
# compare two fields.
UNCOMPARABLE = {t("errors.password_unchanged", "en")}


def _refused_for_a_fact(body: dict[str, Any]) -> bool:
    messages = {body.get("message")} | {e.get("message") for e in body.get("errors") or ()}
    return bool(messages & (UNSTATABLE_FACTS | UNCOMPARABLE))


def accepts_schema_valid_data(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """schemathesis's positive_data_acceptance, less the refusals for unstatable facts."""
    if response.status_code == 400 and _refused_for_a_fact(response.json()):
        return None
    return positive_data_acceptance(ctx, response, case)


def rejects_schema_violating_data(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """schemathesis's negative_data_rejection, less cases with negated headers: every request
    here carries the admin's own Authorization header, which undoes that negation (a missing or
    bad token is proven in the token tests)."""
    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.HEADER):
        return None
    if _import_preview(case):
        return None
    return negative_data_rejection(ctx, response, case)


def _import_preview(case: schemathesis.Case) -> bool:
    """An import's preview (`dryRun`) answers bad rows with 200 and each row's errors: that is
    what it is for, so a row that breaks the row schema is no schema violation accepted."""
    body = case.body
    return (
        case.path.endswith("/users/import")
        and isinstance(body, dict)
        and body.get("dryRun") is True
    )


@st.composite
def _cases(draw: st.DrawFn, operation: Any) -> schemathesis.Case:
    """Positive and negative cases, with ids often pointed at rows that exist.

    Random ids almost never name a row, so without this nudge the fuzz would stop at 404 and
    never reach the writes.
    """
    case: schemathesis.Case = draw(
        st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in MODES))
    )
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return case  # a nudged id could turn the case valid, and the check expects a refusal
    for name, value in case.path_parameters.items():
        if isinstance(value, int) and draw(st.booleans()):
            case.path_parameters[name] = draw(EXISTING_IDS)
    if isinstance(case.body, dict):
        for name in ("roleId", "permissionId"):
            if isinstance(case.body.get(name), int) and draw(st.booleans()):
                case.body[name] = draw(EXISTING_IDS)
    return case


@dataclass
class Fuzzed:
    """The schema under test, and what keeps the fuzz from locking its own admin out."""

    schema: Any
    signer: TokenSigner
    admin: TokenClaims

    def headers(self) -> dict[str, str]:
        """A fresh admin token per case: a fuzzed logout revokes only its own."""
        admin = self.admin
        token = self.signer.sign(
            user_id=admin.user_id,
            email=admin.email,
            role_id=admin.role_id,
            role_name=admin.role_name,
            version=admin.version,
        )
        return conftest.bearer(token)

    def spare_admin(self, case: schemathesis.Case) -> schemathesis.Case:
        """Point edits, deletions and unassignments away from the admin and its grants.

        Disabling or deleting the admin, or taking its permissions, would turn the rest of the
        run into a test of the 401/403 guards; those are proven in the token tests.
        """
        path, method = case.operation.path, case.operation.method.upper()
        given_id = str(case.path_parameters.get("id"))
        if path.startswith("/api/v1/users/") and given_id == str(self.admin.user_id):
            case.path_parameters["id"] = SPARE_ID
        elif path == "/api/v1/permission/{id}" and method == "DELETE" and given_id.isdigit():
            case.path_parameters["id"] = SPARE_ID + int(given_id)
        elif path == "/api/v1/permission/unassign" and _names_role(case.body, self.admin.role_id):
            case.body["roleId"] = SPARE_ID
        return case


def _names_role(body: Any, role_id: int) -> bool:
    return isinstance(body, dict) and body.get("roleId") == role_id


def _prepare(database_url: str) -> None:
    """Migrate and bootstrap on a loop of its own (the app under test gets another)."""

    async def run() -> None:
        application = create_app(conftest.test_settings(database_url))
        try:
            await migrate.upgrade(application.seam.db, application.seam.settings.sqlite_path)
            await bootstrap(application.seam, application.routes)
        finally:
            await application.seam.db.dispose()

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    database = Path(tmp_path_factory.mktemp("fuzz")) / "seam.db"
    url = f"sqlite+aiosqlite:///{database}"
    _prepare(url)
    # Mail to a port where nothing listens: the mail routes work, their sends fail quietly.
    application = create_app(conftest.test_settings(url, smtp_url=UNREACHABLE_SMTP))
    schema = schemathesis.openapi.from_asgi("/openapi.json", application.asgi)
    with asgi.get_client(application.asgi) as client:
        answer = client.post(
            "/api/v1/auth/login",
            json={"email": conftest.ADMIN_EMAIL, "password": conftest.ADMIN_PASSWORD},
        )
    assert answer.status_code == 200, answer.text
    admin = application.seam.signer.verify(answer.json()["data"]["token"])
    assert admin is not None
    try:
        yield Fuzzed(schema=schema, signer=application.seam.signer, admin=admin)
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_has_no_server_error_and_matches_its_schema(
    fuzzed: Fuzzed, method: str, path: str
) -> None:
    operation = fuzzed.schema[path][method]
    strategy = _cases(operation).map(fuzzed.spare_admin)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples every run: `make test` passes or fails for a reason
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers=fuzzed.headers(),
            checks=[
                not_a_server_error,
                response_schema_conformance,
                accepts_schema_valid_data,
                rejects_schema_violating_data,
            ],
            timeout=REQUEST_TIMEOUT,
        )

    fuzz()
