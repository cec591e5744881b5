"""The user routes: thin, each one parses, calls its operation and wraps the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from seam_api.core.types import MAX_ID
from seam_api.passwords import service as passwords_service
from seam_api.security.access import Permitted
from seam_api.users import service
from seam_api.users.schemas import (
    ImportResult,
    ImportRow,
    RowProblem,
    TemporaryPassword,
    UserFilters,
    UserImport,
    UserOut,
    UserSort,
    UserStateUpdate,
    UserUpdate,
)
from seam_api.web.envelope import Envelope, ListEnvelope, PageMeta, ok
from seam_api.web.handlers import field_problems
from seam_api.web.params import (
    API_PREFIX,
    Limit,
    Page,
    PathId,
    WithTotal,
    search_query,
    sort_query,
)

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])


@router.get(
    "",
    response_model=ListEnvelope[list[UserOut]],
    summary="List, search and sort users, a page at a time",
    operation_id="listUsers",
)
async def list_users(
    request: Request,
    _caller: Permitted,
    page: Page = 1,
    limit: Limit = 50,
    search: Annotated[str | None, search_query("full_name or email")] = None,
    role_id: Annotated[
        int | None, Query(alias="roleId", ge=1, le=MAX_ID, description="Only this role's users")
    ] = None,
    is_active: Annotated[
        int | None, Query(alias="isActive", ge=0, le=1, description="1: enabled, 0: disabled")
    ] = None,
    sort: Annotated[UserSort | None, sort_query("idUser, full_name, email, roleName")] = None,
    with_total: WithTotal = False,
) -> Response:
    filters = UserFilters(
        search=search, role_id=role_id, is_active=is_active, sort=sort or "idUser"
    )
    seam = request.app.state.seam
    result = await service.list_page(
        seam, page=page, limit=limit, filters=filters, with_total=with_total
    )
    meta = None if result.total is None else PageMeta(page=page, limit=limit, total=result.total)
    return ok(result.users, meta=meta)


@router.post(
    "/import",
    response_model=Envelope[ImportResult],
    summary="Create users from rows (a CSV's), all or none; `dryRun` previews each row's errors",
    operation_id="importUsers",
)
async def import_users(request: Request, _caller: Permitted, body: UserImport) -> Response:
    rows: list[ImportRow | None] = []
    problems: list[RowProblem] = []
    for number, raw in enumerate(body.rows, start=1):
        try:
            rows.append(ImportRow.model_validate(raw))
        except ValidationError as error:
            rows.append(None)
            problems.extend(
                RowProblem(row=number, field=problem.field, message=problem.message)
                for problem in field_problems(error)
            )
    result = await service.import_users(
        request.app.state.seam,
        rows=rows,
        problems=problems,
        dry_run=body.dry_run,
        invitations=passwords_service.store_invitations if body.invite else None,
    )
    return ok(result)


@router.get(
    "/{id}",
    response_model=Envelope[UserOut],
    summary="View any user's details",
    operation_id="getUser",
)
async def get_user(request: Request, _caller: Permitted, id: PathId) -> Response:
    return ok(await service.get(request.app.state.seam, user_id=id))


@router.put(
    "/{id}",
    response_model=Envelope[UserOut],
    summary="Edit any user's name, email, role or password (a new password or role signs them out)",
    operation_id="updateUser",
)
async def update_user(
    request: Request, _caller: Permitted, id: PathId, body: UserUpdate
) -> Response:
    return ok(await service.update(request.app.state.seam, user_id=id, changes=body))


@router.put(
    "/{id}/state",
    response_model=Envelope[UserOut],
    summary="Enable (1) or disable (0) any user",
    operation_id="setUserState",
)
async def set_user_state(
    request: Request, _caller: Permitted, id: PathId, body: UserStateUpdate
) -> Response:
    return ok(await service.set_state(request.app.state.seam, user_id=id, state=body))


@router.put(
    "/{id}/resetPassword",
    response_model=Envelope[TemporaryPassword],
    summary="Give a user a random temporary password",
    operation_id="resetUserPassword",
)
async def reset_password(request: Request, _caller: Permitted, id: PathId) -> Response:
    return ok(await service.reset_password(request.app.state.seam, user_id=id))


@router.delete(
    "/{id}",
    response_model=Envelope[None],
    summary="Delete a user and end their sessions",
    operation_id="deleteUser",
)
async def delete_user(request: Request, _caller: Permitted, id: PathId) -> Response:
    await service.delete(request.app.state.seam, user_id=id)
    return ok(None)
