"""The permission operations. Every change to what a role holds drops the permission cache on
every instance after the commit, so the very next request sees it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api import delegation
from seam_api.core.cache import SerialisedList
from seam_api.core.errors import Conflict, Invalid, NotFound
from seam_api.operations import operation, record, step
from seam_api.permissions import repository
from seam_api.permissions.schemas import (
    Assignment,
    PermissionCreate,
    PermissionFilters,
    PermissionOut,
)
from seam_api.ports import Parts
from seam_api.realtime.eventlog import changes_between
from seam_api.roles import service as roles_service

AUDITED_FIELDS = ("nameUri", "description")


def _permission(row: Any) -> PermissionOut:
    return PermissionOut.model_validate(dict(row))


def _changes(before: Any, after: Any) -> dict[str, list[Any]]:
    return changes_between(
        None if before is None else _permission(before).model_dump(by_alias=True),
        None if after is None else _permission(after).model_dump(by_alias=True),
        fields=AUDITED_FIELDS,
    )


async def name_uris_for_role(conn: AsyncConnection, *, role_id: int) -> list[str]:
    """For login: the nameUris a role holds."""
    return await repository.name_uris_for_role(conn, role_id=role_id)


@operation("permission:fetchAll")
async def list_all(seam: Parts, *, filters: PermissionFilters) -> list[PermissionOut]:
    step(seam, "querying")

    async def load() -> SerialisedList[PermissionOut]:
        async with seam.db.read() as conn:
            rows = await repository.list_all(conn, filters=filters)
            return SerialisedList(_permission(row) for row in rows)

    plain = filters == PermissionFilters()
    permissions: list[PermissionOut] = await seam.reads.get_or_load_if(
        plain, ("permissions",), load
    )
    return permissions


@operation("permission:fetchByRole")
async def list_for_role(seam: Parts, *, role_id: int) -> list[PermissionOut]:
    step(seam, "querying")

    async def load() -> SerialisedList[PermissionOut]:
        async with seam.db.read() as conn:
            await roles_service.get_or_raise(conn, role_id=role_id)
            rows = await repository.list_for_role(conn, role_id=role_id)
        return SerialisedList(_permission(row) for row in rows)

    permissions: list[PermissionOut] = await seam.reads.get_or_load(
        ("permissions", "role", role_id), load
    )
    return permissions


@operation("permission:fetchByUri")
async def find_by_name_uri(seam: Parts, *, name_uri: str) -> list[PermissionOut]:
    step(seam, "querying")

    async def load() -> SerialisedList[PermissionOut]:
        async with seam.db.read() as conn:
            rows = await repository.find_by_name_uri(conn, name_uri=name_uri)
        if not rows:
            raise NotFound("errors.permission_not_found")
        return SerialisedList(_permission(row) for row in rows)

    permissions: list[PermissionOut] = await seam.reads.get_or_load(
        ("permissions", "uri", name_uri), load
    )
    return permissions


@operation("permission:create")
async def create(seam: Parts, *, form: PermissionCreate) -> PermissionOut:
    async with seam.db.transaction() as conn:
        step(seam, "checking_name")
        if await repository.find_by_name_uri(conn, name_uri=form.name_uri):
            raise Conflict("errors.name_uri_taken")
        step(seam, "saving")
        permission_id = await repository.create(
            conn, name_uri=form.name_uri, description=form.description
        )
        row = await repository.get(conn, permission_id=permission_id)
        permission = _permission(row)
        await record(
            seam,
            conn,
            entity="permission",
            entity_id=permission_id,
            changes=_changes(None, row),
            result=permission,
        )
    return permission


async def _check_assignment(conn: AsyncConnection, assignment: Assignment) -> str:
    """Unknown ids in a body are bad input (400), not missing resources. Returns the
    permission's nameUri, which the audit entry names."""
    if not await roles_service.exists(conn, role_id=assignment.role_id):
        raise Invalid("errors.role_unknown")
    permission = await repository.get(conn, permission_id=assignment.permission_id)
    if permission is None:
        raise Invalid("errors.permission_unknown")
    return str(permission["name_uri"])


@operation("permission:assign")
async def assign(seam: Parts, *, assignment: Assignment) -> Assignment:
    await delegation.check_permission_grant(
        seam, role_id=assignment.role_id, permission_id=assignment.permission_id
    )
    async with seam.db.transaction() as conn:
        step(seam, "checking")
        name_uri = await _check_assignment(conn, assignment)
        changes: dict[str, list[Any]] = {}
        if not await repository.is_assigned(
            conn, role_id=assignment.role_id, permission_id=assignment.permission_id
        ):
            step(seam, "saving")
            await repository.assign(
                conn, role_id=assignment.role_id, permission_id=assignment.permission_id
            )
            changes = {"permissions": [None, name_uri]}
        await record(
            seam,
            conn,
            entity="role",
            entity_id=assignment.role_id,
            changes=changes,
            result=assignment,
        )
    await seam.permissions_changed("permission:assign", assignment.role_id)
    return assignment


@operation("permission:unassign")
async def unassign(seam: Parts, *, assignment: Assignment) -> Assignment:
    await delegation.check_role_change(seam, role_id=assignment.role_id)
    async with seam.db.transaction() as conn:
        step(seam, "checking")
        name_uri = await _check_assignment(conn, assignment)
        step(seam, "saving")
        if not await repository.unassign(
            conn, role_id=assignment.role_id, permission_id=assignment.permission_id
        ):
            raise NotFound("errors.assignment_not_found")
        await record(
            seam,
            conn,
            entity="role",
            entity_id=assignment.role_id,
            changes={"permissions": [name_uri, None]},
            result=assignment,
        )
    await seam.permissions_changed("permission:unassign", assignment.role_id)
    return assignment


@operation("permission:delete")
async def delete(seam: Parts, *, permission_id: int) -> dict[str, int]:
    """Returns the deleted id, which is what the `data:changed` event carries."""
    async with seam.db.transaction() as conn:
        step(seam, "deleting")
        current = await repository.get(conn, permission_id=permission_id, lock=True)
        if current is None or not await repository.delete_one(conn, permission_id=permission_id):
            raise NotFound("errors.permission_not_found")
        result = {"idPermission": permission_id}
        await record(
            seam,
            conn,
            entity="permission",
            entity_id=permission_id,
            changes=_changes(current, None),
            result=result,
        )
    await seam.permissions_changed("permission:delete", permission_id)
    return result
