"""The user operations: listing, editing, state, password reset and deletion.

Writes that end a user's sessions (password, role, disabling, reset, delete) raise the token
version in the same transaction as the change, then tell every instance after the commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.container import Seam
from seam_api.core import delegation
from seam_api.core.cache import SerialisedList
from seam_api.core.errors import Conflict, Invalid, NotFound
from seam_api.core.eventlog import changes_between
from seam_api.core.operations import operation, record, step
from seam_api.core.security import hash_password, temporary_password
from seam_api.roles import service as roles_service
from seam_api.roles.schemas import RoleOut
from seam_api.users import repository
from seam_api.users.schemas import TemporaryPassword, UserOut, UserStateUpdate, UserUpdate

# The fields an audit entry compares (contract names); the password only by name.
AUDITED_FIELDS = ("full_name", "email", "roleId", "isActive")


def _user(row: Any) -> UserOut:
    return UserOut.model_validate(dict(row))


def _audited(row: Any) -> dict[str, Any]:
    return _user(row).model_dump(by_alias=True)


def user_changes(before: Any, after: Any, *, password: bool = False) -> dict[str, list[Any]]:
    """An audit entry's `changes` between two user rows (either may be None)."""
    return changes_between(
        None if before is None else _audited(before),
        None if after is None else _audited(after),
        fields=AUDITED_FIELDS,
        secrets=("password",) if password else (),
    )


def _saved_row(current: Any, saved: Any, role: RoleOut | None) -> dict[str, Any]:
    """The user as saved, without reading it back: its own columns as the update returned
    them, its role's name and description from the role it now holds (`role`, when the edit
    gave it a new one, else the one `current` was read with)."""
    if saved is None:  # deleted by another writer since `current` was read
        raise NotFound("errors.user_not_found")
    row = {**current, **saved}
    if role is not None:
        row["role_name"] = role.role_name
        row["role_description"] = role.description
    return row


async def count_with_role(conn: AsyncConnection, *, role_id: int) -> int:
    """For the roles domain: a role users hold cannot be deleted."""
    return await repository.count_with_role(conn, role_id=role_id)


@operation("user:fetchAll")
async def list_page(seam: Seam, *, page: int, limit: int) -> list[UserOut]:
    step(seam, "querying")

    async def load() -> SerialisedList[UserOut]:
        async with seam.db.read() as conn:
            rows = await repository.list_page(conn, offset=(page - 1) * limit, limit=limit)
        return SerialisedList(_user(row) for row in rows)

    users: list[UserOut] = await seam.reads.get_or_load(("users", page, limit), load)
    return users


@operation("user:fetchOne")
async def get(seam: Seam, *, user_id: int) -> UserOut:
    step(seam, "querying")

    async def load() -> UserOut:
        async with seam.db.read() as conn:
            row = await repository.get(conn, user_id=user_id)
        if row is None:
            raise NotFound("errors.user_not_found")
        return _user(row)

    user: UserOut = await seam.reads.get_or_load(("user", user_id), load)
    return user


@operation("user:edit")
async def update(seam: Seam, *, user_id: int, changes: UserUpdate) -> UserOut:
    await delegation.check_user_change(seam, user_id=user_id, new_role_id=changes.role_id)
    values: dict[str, Any] = changes.model_dump(exclude_none=True, exclude={"password"})
    if changes.password is not None:
        step(seam, "hashing")  # before the transaction: bcrypt must not hold a write lock
        values["password_hash"] = await hash_password(changes.password)
    async with seam.db.transaction() as conn:
        step(seam, "loading")
        current = await repository.get(conn, user_id=user_id)
        if current is None:
            raise NotFound("errors.user_not_found")
        if changes.email is not None and changes.email != current["email"]:
            step(seam, "checking_email")
            if await repository.email_taken(conn, email=changes.email, except_user_id=user_id):
                raise Conflict("errors.email_taken")
        role_changed = changes.role_id is not None and changes.role_id != current["role_id"]
        role = None
        if role_changed:
            role = await roles_service.get_by_id(conn, role_id=values["role_id"])
            if role is None:
                raise Invalid("errors.role_unknown")
        revoke = role_changed or changes.password is not None
        step(seam, "saving")
        saved = await repository.update_and_get(
            conn, user_id=user_id, values=values, revoke_sessions=revoke
        )
        row = _saved_row(current, saved, role)
        user = _user(row)
        audit = user_changes(current, row, password=changes.password is not None)
        await record(seam, conn, entity="user", entity_id=user_id, changes=audit, result=user)
    if revoke:
        await seam.account_changed(user_id, revoked=True)
    return user


@operation("user:setState")
async def set_state(seam: Seam, *, user_id: int, state: UserStateUpdate) -> UserOut:
    await delegation.check_user_change(seam, user_id=user_id)
    async with seam.db.transaction() as conn:
        step(seam, "loading")
        current = await repository.get(conn, user_id=user_id)
        if current is None:
            raise NotFound("errors.user_not_found")
        disabling = state.is_active == 0 and current["is_active"] != 0
        step(seam, "saving")
        saved = await repository.update_and_get(
            conn, user_id=user_id, values={"is_active": state.is_active}, revoke_sessions=disabling
        )
        row = _saved_row(current, saved, None)
        user = _user(row)
        changes = user_changes(current, row)
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=user)
    await seam.account_changed(user_id, revoked=disabling)
    return user


def _reset_summary(_result: TemporaryPassword) -> None:
    """The temporary password is for the HTTP answer only, never for an event."""
    return None


@operation("user:resetPassword", summary=_reset_summary)
async def reset_password(seam: Seam, *, user_id: int) -> TemporaryPassword:
    await delegation.check_user_change(seam, user_id=user_id)
    async with seam.db.read() as conn:
        if await repository.get_account(conn, user_id=user_id) is None:
            raise NotFound("errors.user_not_found")
    step(seam, "generating")
    password = temporary_password()
    step(seam, "hashing")
    password_hash = await hash_password(password)
    result = TemporaryPassword(temporary_password=password)
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        if not await repository.update_fields(
            conn, user_id=user_id, values={"password_hash": password_hash}, revoke_sessions=True
        ):
            raise NotFound("errors.user_not_found")  # deleted while the hash was made
        changes = changes_between(None, None, fields=(), secrets=("password",))
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=result)
    await seam.account_changed(user_id, revoked=True)
    return result


@operation("user:delete")
async def delete(seam: Seam, *, user_id: int) -> dict[str, int]:
    """Returns the deleted id, which is what the `data:changed` event carries."""
    await delegation.check_user_change(seam, user_id=user_id)
    async with seam.db.transaction() as conn:
        step(seam, "deleting")
        current = await repository.get(conn, user_id=user_id)
        if current is None or not await repository.delete_one(conn, user_id=user_id):
            raise NotFound("errors.user_not_found")
        result = {"idUser": user_id}
        changes = user_changes(current, None)
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=result)
    await seam.account_changed(user_id, revoked=True)
    return result
