"""The sidebar routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.security.access import Authenticated, Permitted
from seam_api.sidebar import service
from seam_api.sidebar.schemas import (
    SidebarAssignmentOut,
    SidebarItemCreate,
    SidebarItemOut,
    SidebarItemUpdate,
    SidebarItemWithRoles,
)
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId

router = APIRouter(prefix=f"{API_PREFIX}/sidebar", tags=["sidebar"])


@router.get(
    "",
    response_model=Envelope[list[SidebarItemOut]],
    summary="The caller's role's menu, ordered by idItem",
    operation_id="getMySidebar",
)
async def my_sidebar(request: Request, caller: Authenticated) -> Response:
    return ok(await service.list_for_role(request.app.state.seam, role_id=caller.role_id))


@router.get(
    "/all",
    response_model=Envelope[list[SidebarItemWithRoles]],
    summary="List every menu item, by idItem, with the roles that see it",
    operation_id="listSidebarItems",
)
async def all_items(request: Request, _caller: Permitted) -> Response:
    return ok(await service.list_all(request.app.state.seam))


@router.post(
    "",
    status_code=201,
    response_model=Envelope[SidebarItemOut],
    summary="Create a menu item",
    operation_id="createSidebarItem",
)
async def create_item(request: Request, _caller: Permitted, body: SidebarItemCreate) -> Response:
    return ok(await service.create(request.app.state.seam, form=body), status=201)


@router.put(
    "/{idItem}",
    response_model=Envelope[SidebarItemOut],
    summary="Edit a menu item",
    operation_id="updateSidebarItem",
)
async def update_item(
    request: Request, _caller: Permitted, idItem: PathId, body: SidebarItemUpdate
) -> Response:
    return ok(await service.update(request.app.state.seam, item_id=idItem, changes=body))


@router.delete(
    "/{idItem}",
    response_model=Envelope[None],
    summary="Delete a menu item and its role assignments",
    operation_id="deleteSidebarItem",
)
async def delete_item(request: Request, _caller: Permitted, idItem: PathId) -> Response:
    await service.delete(request.app.state.seam, item_id=idItem)
    return ok(None)


@router.post(
    "/{idItem}/role/{idRole}",
    status_code=201,
    response_model=Envelope[SidebarAssignmentOut],
    summary="Show a menu item to a role",
    operation_id="assignSidebarItem",
)
async def assign_item(
    request: Request, _caller: Permitted, idItem: PathId, idRole: PathId
) -> Response:
    seam = request.app.state.seam
    return ok(await service.assign(seam, item_id=idItem, role_id=idRole), status=201)


@router.delete(
    "/{idItem}/role/{idRole}",
    response_model=Envelope[None],
    summary="Hide a menu item from a role",
    operation_id="unassignSidebarItem",
)
async def unassign_item(
    request: Request, _caller: Permitted, idItem: PathId, idRole: PathId
) -> Response:
    await service.unassign(request.app.state.seam, item_id=idItem, role_id=idRole)
    return ok(None)
