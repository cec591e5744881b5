"""The permission routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from seam_api.core.types import MAX_ID, NoNul
from seam_api.permissions import service
from seam_api.permissions.schemas import (
    Assignment,
    PermissionCreate,
    PermissionFilters,
    PermissionOut,
    PermissionSort,
)
from seam_api.security.access import Authenticated, Permitted
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId, search_query, sort_query

router = APIRouter(prefix=f"{API_PREFIX}/permission", tags=["permissions"])


@router.get(
    "",
    response_model=Envelope[list[PermissionOut]],
    summary="Every permission",
    operation_id="listPermissions",
)
async def list_permissions(
    request: Request,
    _caller: Authenticated,
    search: Annotated[str | None, search_query("nameUri or description")] = None,
    sort: Annotated[PermissionSort | None, sort_query("idPermission, nameUri, description")] = None,
) -> Response:
    filters = PermissionFilters(search=search, sort=sort or "idPermission")
    return ok(await service.list_all(request.app.state.seam, filters=filters))


@router.post(
    "/register",
    status_code=201,
    response_model=Envelope[PermissionOut],
    summary="Create a permission",
    operation_id="createPermission",
)
async def create_permission(
    request: Request, _caller: Permitted, body: PermissionCreate
) -> Response:
    return ok(await service.create(request.app.state.seam, form=body), status=201)


@router.get(
    "/getByRoleId",
    response_model=Envelope[list[PermissionOut]],
    summary="The permissions a role holds",
    operation_id="listRolePermissions",
)
async def permissions_of_role(
    request: Request,
    _caller: Authenticated,
    roleId: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> Response:
    return ok(await service.list_for_role(request.app.state.seam, role_id=roleId))


@router.get(
    "/getByNameUri",
    response_model=Envelope[list[PermissionOut]],
    summary="Permissions by nameUri (case-insensitive)",
    operation_id="findPermissionsByNameUri",
)
async def permissions_by_name_uri(
    request: Request,
    _caller: Authenticated,
    nameUri: Annotated[str, Query(min_length=1, max_length=100), NoNul],
) -> Response:
    return ok(await service.find_by_name_uri(request.app.state.seam, name_uri=nameUri))


@router.post(
    "/assign",
    response_model=Envelope[None],
    summary="Give a role a permission (idempotent)",
    operation_id="assignPermission",
)
async def assign_permission(request: Request, _caller: Permitted, body: Assignment) -> Response:
    await service.assign(request.app.state.seam, assignment=body)
    return ok(None)


@router.delete(
    "/unassign",
    response_model=Envelope[None],
    summary="Take a permission from a role",
    operation_id="unassignPermission",
)
async def unassign_permission(request: Request, _caller: Permitted, body: Assignment) -> Response:
    await service.unassign(request.app.state.seam, assignment=body)
    return ok(None)


@router.delete(
    "/{id}",
    response_model=Envelope[None],
    summary="Delete a permission and its assignments",
    operation_id="deletePermission",
)
async def delete_permission(request: Request, _caller: Permitted, id: PathId) -> Response:
    await service.delete(request.app.state.seam, permission_id=id)
    return ok(None)
