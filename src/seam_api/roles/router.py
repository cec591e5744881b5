"""The role routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.roles import service
from seam_api.roles.schemas import RoleCreate, RoleFilters, RoleOut, RoleSort, RoleUpdate
from seam_api.security.access import Authenticated, Permitted
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId, search_query, sort_query

router = APIRouter(prefix=f"{API_PREFIX}/roles", tags=["roles"])


@router.get(
    "", response_model=Envelope[list[RoleOut]], summary="Every role", operation_id="listRoles"
)
async def list_roles(
    request: Request,
    _caller: Authenticated,
    search: Annotated[str | None, search_query("roleName or description")] = None,
    sort: Annotated[RoleSort | None, sort_query("idRole, roleName, description")] = None,
) -> Response:
    filters = RoleFilters(search=search, sort=sort or "idRole")
    return ok(await service.list_all(request.app.state.seam, filters=filters))


@router.post(
    "",
    status_code=201,
    response_model=Envelope[RoleOut],
    summary="Create a role",
    operation_id="createRole",
)
async def create_role(request: Request, _caller: Permitted, body: RoleCreate) -> Response:
    return ok(await service.create(request.app.state.seam, form=body), status=201)


@router.put(
    "/{idRole}",
    response_model=Envelope[RoleOut],
    summary="Rename or describe a role",
    operation_id="updateRole",
)
async def update_role(
    request: Request, _caller: Permitted, idRole: PathId, body: RoleUpdate
) -> Response:
    return ok(await service.update(request.app.state.seam, role_id=idRole, changes=body))


@router.delete(
    "/{idRole}",
    response_model=Envelope[None],
    summary="Delete a role no user holds",
    operation_id="deleteRole",
)
async def delete_role(request: Request, _caller: Permitted, idRole: PathId) -> Response:
    await service.delete(request.app.state.seam, role_id=idRole)
    return ok(None)
