"""The role operations. Deleting a role takes its permission and menu assignments with it
(foreign keys), and is refused while any user holds the role. The roles the bootstrap seeds
(`admin` and the default role) keep their names: the bootstrap finds them by name."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.cache import SerialisedList
from seam_api.core.errors import Conflict, NotFound
from seam_api.operations import operation, record, step
from seam_api.ports import Parts
from seam_api.realtime.eventlog import changes_between
from seam_api.roles import repository
from seam_api.roles.constants import ADMIN_ROLE
from seam_api.roles.schemas import RoleCreate, RoleFilters, RoleOut, RoleUpdate

AUDITED_FIELDS = ("roleName", "description", "requireMfa")


def _role(row: Any) -> RoleOut:
    return RoleOut.model_validate(dict(row))


def _changes(before: RoleOut | None, after: RoleOut | None) -> dict[str, list[Any]]:
    return changes_between(
        None if before is None else before.model_dump(by_alias=True),
        None if after is None else after.model_dump(by_alias=True),
        fields=AUDITED_FIELDS,
    )


def _same_name(name: str, other: str) -> bool:
    return repository.name_key(name) == repository.name_key(other)


def _is_protected(seam: Parts, role_name: str) -> bool:
    """A seeded role: renaming it would dodge delete protection and make the bootstrap seed a
    second one."""
    return _same_name(role_name, ADMIN_ROLE) or _same_name(role_name, seam.settings.default_role)


# Letters of other scripts drawn like Latin ones (from Unicode's confusables, UTS #39), for
# the names a lookalike could pass for. No maintained Python package carries the table.
_LATIN_LOOKALIKES = str.maketrans(
    "асԁеһіјӏոорԛѕսԝхуᴠαβεικνορτυχ",
    "acdehijlnopqsuwxyvabeiknoptux",
)


def _skeleton(name: str) -> str:
    """What a name looks like: compatibility forms folded (full-width letters), case and
    accents dropped, lookalike letters of other scripts read as Latin (a Cyrillic a)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name).casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return plain.translate(_LATIN_LOOKALIKES)


def _refuse_lookalike(seam: Parts, role_name: str | None) -> None:
    """A new name may not pass for a seeded role's name unless it is that name."""
    if role_name is None:
        return
    for protected in (ADMIN_ROLE, seam.settings.default_role):
        if _skeleton(role_name) == _skeleton(protected) and not _same_name(role_name, protected):
            raise Conflict("errors.role_name_lookalike", name=protected)


async def exists(conn: AsyncConnection, *, role_id: int) -> bool:
    """For other domains that take a role id (no operation of its own)."""
    return await repository.get(conn, role_id=role_id) is not None


async def get_or_raise(conn: AsyncConnection, *, role_id: int, lock: bool = False) -> RoleOut:
    row = await repository.get(conn, role_id=role_id, lock=lock)
    if row is None:
        raise NotFound("errors.role_not_found")
    return _role(row)


async def get_by_id(conn: AsyncConnection, *, role_id: int) -> RoleOut | None:
    row = await repository.get(conn, role_id=role_id)
    return None if row is None else _role(row)


async def get_by_name(conn: AsyncConnection, *, role_name: str) -> RoleOut | None:
    row = await repository.get_by_name(conn, role_name=role_name)
    return None if row is None else _role(row)


@operation("role:fetchAll")
async def list_all(seam: Parts, *, filters: RoleFilters) -> list[RoleOut]:
    step(seam, "querying")

    async def load() -> SerialisedList[RoleOut]:
        async with seam.db.read() as conn:
            rows = await repository.list_all(conn, filters=filters)
            return SerialisedList(_role(row) for row in rows)

    plain = filters == RoleFilters()
    roles: list[RoleOut] = await seam.reads.get_or_load_if(plain, ("roles",), load)
    return roles


@operation("role:create")
async def create(seam: Parts, *, form: RoleCreate) -> RoleOut:
    _refuse_lookalike(seam, form.role_name)
    async with seam.db.transaction() as conn:
        step(seam, "checking_name")
        if await repository.get_by_name(conn, role_name=form.role_name) is not None:
            raise Conflict("errors.role_name_taken")
        step(seam, "saving")
        role_id = await repository.create(
            conn, role_name=form.role_name, description=form.description
        )
        role = await get_or_raise(conn, role_id=role_id)
        changes = _changes(None, role)
        await record(seam, conn, entity="role", entity_id=role_id, changes=changes, result=role)
    await seam.permissions_changed("role:create", role_id)  # data:changed audiences
    return role


@operation("role:edit")
async def update(seam: Parts, *, role_id: int, changes: RoleUpdate) -> RoleOut:
    _refuse_lookalike(seam, changes.role_name)
    async with seam.db.transaction() as conn:
        step(seam, "loading")
        role = before = await get_or_raise(conn, role_id=role_id, lock=True)
        values = changes.model_dump(exclude_none=True)
        if changes.role_name is not None:
            step(seam, "checking_name")
            if _is_protected(seam, role.role_name):
                if not _same_name(changes.role_name, role.role_name):
                    raise Conflict("errors.role_is_protected")
                del values["role_name"]  # the same name: a no-op that keeps the seeded spelling
            else:
                other = await repository.get_by_name(conn, role_name=changes.role_name)
                if other is not None and other["id_role"] != role_id:
                    raise Conflict("errors.role_name_taken")
        if values:
            step(seam, "saving")
            saved = await repository.update_and_get(conn, role_id=role_id, values=values)
            if saved is None:
                raise NotFound("errors.role_not_found")
            role = _role(saved)
        audit = _changes(before, role)
        await record(seam, conn, entity="role", entity_id=role_id, changes=audit, result=role)
    if role.role_name != before.role_name:
        # A new name may make a role `admin` (delegation).
        await seam.permissions_changed("role:edit", role_id)
    return role


@operation("role:delete")
async def delete(seam: Parts, *, role_id: int) -> dict[str, int]:
    """Returns the deleted id, which is what the `data:changed` event carries."""
    async with seam.db.transaction() as conn:
        step(seam, "checking_usage")
        role = await get_or_raise(conn, role_id=role_id, lock=True)
        if _same_name(role.role_name, seam.settings.default_role):
            raise Conflict("errors.role_is_default")
        if await repository.count_holders(conn, role_id=role_id):
            raise Conflict("errors.role_in_use")
        step(seam, "deleting")
        await repository.delete_one(conn, role_id=role_id)
        result = {"idRole": role_id}
        changes = _changes(role, None)
        await record(seam, conn, entity="role", entity_id=role_id, changes=changes, result=result)
    await seam.permissions_changed("role:delete", role_id)
    return result
