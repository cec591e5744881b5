"""The permission operations. Every change to what a role holds drops the permission cache on
every instance after the commit, so the very next request sees it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.container import Seam
from seam_api.core import delegation
from seam_api.core.errors import Conflict, Invalid, NotFound
from seam_api.core.operations import operation, step
from seam_api.permissions import repository
from seam_api.permissions.schemas import Assignment, PermissionCreate, PermissionOut
from seam_api.roles import service as roles_service


def _permission(row: Any) -> PermissionOut:
    return PermissionOut.model_validate(dict(row))


async def name_uris_for_role(conn: AsyncConnection, *, role_id: int) -> list[str]:
    """For login: the nameUris a role holds."""
    return await repository.name_uris_for_role(conn, role_id=role_id)


@operation("permission:fetchAll")
async def list_all(seam: Seam) -> list[PermissionOut]:
    step(seam, "querying")
    async with seam.db.read() as conn:
        return [_permission(row) for row in await repository.list_all(conn)]


@operation("permission:fetchByRole")
async def list_for_role(seam: Seam, *, role_id: int) -> list[PermissionOut]:
    step(seam, "querying")
    async with seam.db.read() as conn:
        await roles_service.get_or_raise(conn, role_id=role_id)
        return [_permission(r) for r in await repository.list_for_role(conn, role_id=role_id)]


@operation("permission:fetchByUri")
async def find_by_name_uri(seam: Seam, *, name_uri: str) -> list[PermissionOut]:
    step(seam, "querying")
    async with seam.db.read() as conn:
        rows = await repository.find_by_name_uri(conn, name_uri=name_uri)
    if not rows:
        raise NotFound("errors.permission_not_found")
    return [_permission(row) for row in rows]


@operation("permission:create")
async def create(seam: Seam, *, form: PermissionCreate) -> PermissionOut:
    async with seam.db.transaction() as conn:
        step(seam, "checking_name")
        if await repository.find_by_name_uri(conn, name_uri=form.name_uri):
            raise Conflict("errors.name_uri_taken")
        step(seam, "saving")
        permission_id = await repository.create(
            conn, name_uri=form.name_uri, description=form.description
        )
        row = await repository.get(conn, permission_id=permission_id)
    return _permission(row)


async def _check_assignment(conn: AsyncConnection, assignment: Assignment) -> None:
    """Unknown ids in a body are bad input (400), not missing resources."""
    if not await roles_service.exists(conn, role_id=assignment.role_id):
        raise Invalid("errors.role_unknown")
    if await repository.get(conn, permission_id=assignment.permission_id) is None:
        raise Invalid("errors.permission_unknown")


@operation("permission:assign")
async def assign(seam: Seam, *, assignment: Assignment) -> Assignment:
    await delegation.check_permission_grant(
        seam, role_id=assignment.role_id, permission_id=assignment.permission_id
    )
    async with seam.db.transaction() as conn:
        step(seam, "checking")
        await _check_assignment(conn, assignment)
        if not await repository.is_assigned(
            conn, role_id=assignment.role_id, permission_id=assignment.permission_id
        ):
            step(seam, "saving")
            await repository.assign(
                conn, role_id=assignment.role_id, permission_id=assignment.permission_id
            )
    await seam.permissions_changed()
    return assignment


@operation("permission:unassign")
async def unassign(seam: Seam, *, assignment: Assignment) -> Assignment:
    await delegation.check_role_change(seam, role_id=assignment.role_id)
    async with seam.db.transaction() as conn:
        step(seam, "checking")
        await _check_assignment(conn, assignment)
        step(seam, "saving")
        if not await repository.unassign(
            conn, role_id=assignment.role_id, permission_id=assignment.permission_id
        ):
            raise NotFound("errors.assignment_not_found")
    await seam.permissions_changed()
    return assignment


@operation("permission:delete")
async def delete(seam: Seam, *, permission_id: int) -> dict[str, int]:
    """Returns the deleted id, which is what the `data:changed` event carries."""
    async with seam.db.transaction() as conn:
        step(seam, "deleting")
        if not await repository.delete_one(conn, permission_id=permission_id):
            raise NotFound("errors.permission_not_found")
    await seam.permissions_changed()
    return {"idPermission": permission_id}
