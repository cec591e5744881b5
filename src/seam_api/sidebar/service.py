"""The sidebar operations: the menu items and which roles see them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.cache import SerialisedList
from seam_api.core.errors import Conflict, NotFound
from seam_api.operations import operation, record, step
from seam_api.ports import Parts
from seam_api.realtime.eventlog import changes_between
from seam_api.roles import service as roles_service
from seam_api.sidebar import repository
from seam_api.sidebar.schemas import (
    RoleRef,
    SidebarAssignmentOut,
    SidebarItemCreate,
    SidebarItemOut,
    SidebarItemUpdate,
    SidebarItemWithRoles,
)

AUDITED_FIELDS = ("nameItem", "iconItem", "route")


def _item(row: Any) -> SidebarItemOut:
    return SidebarItemOut.model_validate(dict(row))


def _changes(before: SidebarItemOut | None, after: SidebarItemOut | None) -> dict[str, list[Any]]:
    return changes_between(
        None if before is None else before.model_dump(by_alias=True),
        None if after is None else after.model_dump(by_alias=True),
        fields=AUDITED_FIELDS,
    )


async def items_for_role(conn: AsyncConnection, *, role_id: int) -> list[SidebarItemOut]:
    """For login: a role's menu, ordered by idItem."""
    return [_item(row) for row in await repository.list_for_role(conn, role_id=role_id)]


async def _get_or_raise(
    conn: AsyncConnection, item_id: int, *, lock: bool = False
) -> SidebarItemOut:
    row = await repository.get(conn, item_id=item_id, lock=lock)
    if row is None:
        raise NotFound("errors.item_not_found")
    return _item(row)


@operation("sidebar:fetchByRole")
async def list_for_role(seam: Parts, *, role_id: int) -> list[SidebarItemOut]:
    step(seam, "querying")

    async def load() -> SerialisedList[SidebarItemOut]:
        async with seam.db.read() as conn:
            return SerialisedList(await items_for_role(conn, role_id=role_id))

    items: list[SidebarItemOut] = await seam.reads.get_or_load(("sidebar", role_id), load)
    return items


@operation("sidebar:fetchAll")
async def list_all(seam: Parts) -> list[SidebarItemWithRoles]:
    """Every item with the roles that see it: what an admin needs to manage the menus of
    roles other than its own."""
    step(seam, "querying")
    async with seam.db.read() as conn:
        items = await repository.list_all(conn)
        assignments = await repository.list_assignments(conn)
    holders: dict[int, list[RoleRef]] = {}
    for row in assignments:
        holders.setdefault(row["item_id"], []).append(RoleRef.model_validate(dict(row)))
    return [
        SidebarItemWithRoles.model_validate({**row, "roles": holders.get(row["id_item"], [])})
        for row in items
    ]


@operation("sidebar:create")
async def create(seam: Parts, *, form: SidebarItemCreate) -> SidebarItemOut:
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        item_id = await repository.create(conn, values=form.model_dump())
        item = await _get_or_raise(conn, item_id)
        changes = _changes(None, item)
        await record(seam, conn, entity="sidebar", entity_id=item_id, changes=changes, result=item)
        return item


@operation("sidebar:edit")
async def update(seam: Parts, *, item_id: int, changes: SidebarItemUpdate) -> SidebarItemOut:
    async with seam.db.transaction() as conn:
        step(seam, "loading")
        before = await _get_or_raise(conn, item_id, lock=True)
        step(seam, "saving")
        values = changes.model_dump(exclude_unset=True)
        saved = await repository.update_and_get(conn, item_id=item_id, values=values)
        if saved is None:
            raise NotFound("errors.item_not_found")
        item = _item(saved)
        audit = _changes(before, item)
        await record(seam, conn, entity="sidebar", entity_id=item_id, changes=audit, result=item)
        return item


@operation("sidebar:delete")
async def delete(seam: Parts, *, item_id: int) -> dict[str, int]:
    """Returns the deleted id, which is what the `data:changed` event carries."""
    async with seam.db.transaction() as conn:
        step(seam, "deleting")
        before = await _get_or_raise(conn, item_id, lock=True)
        await repository.delete_one(conn, item_id=item_id)
        result = {"idItem": item_id}
        changes = _changes(before, None)
        await record(
            seam, conn, entity="sidebar", entity_id=item_id, changes=changes, result=result
        )
    return result


@operation("sidebar:assign")
async def assign(seam: Parts, *, item_id: int, role_id: int) -> SidebarAssignmentOut:
    async with seam.db.transaction() as conn:
        step(seam, "checking")
        item = await _get_or_raise(conn, item_id)
        role = await roles_service.get_or_raise(conn, role_id=role_id)
        if await repository.is_assigned(conn, item_id=item_id, role_id=role_id):
            raise Conflict("errors.item_already_assigned")
        step(seam, "saving")
        await repository.assign(conn, item_id=item_id, role_id=role_id)
        assignment = SidebarAssignmentOut(
            id_role=role.id_role,
            id_item=item.id_item,
            role_name=role.role_name,
            name_item=item.name_item,
        )
        await record(
            seam,
            conn,
            entity="sidebar",
            entity_id=item_id,
            changes={"roles": [None, role.role_name]},
            result=assignment,
        )
    return assignment


@operation("sidebar:unassign")
async def unassign(seam: Parts, *, item_id: int, role_id: int) -> dict[str, int]:
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        role = await roles_service.get_by_id(conn, role_id=role_id)
        if not await repository.unassign(conn, item_id=item_id, role_id=role_id):
            raise NotFound("errors.assignment_not_found")
        result = {"idItem": item_id, "idRole": role_id}
        changes = {"roles": [role.role_name if role else role_id, None]}
        await record(
            seam, conn, entity="sidebar", entity_id=item_id, changes=changes, result=result
        )
    return result
