"""Delegated administration: what a caller may hand out or change is bounded by what it holds.

A route permission lets a role call a route; it does not make the role an admin. So, whatever
route it goes through, a caller can never:

- grant a permission its own role does not hold, or give anyone a role holding one;
- change its own role, or what its own role holds;
- edit, disable, reset or delete an account whose role holds anything the caller's lacks.

The `admin` role keeps full power. Services call one of these functions at the top of each
operation; the caller is the one the request's guard recorded (anonymous callers are bounded
by self-registration's own rules). Which role is `admin` comes from the guard's own permission
cache (`PermissionCache.is_admin`: it cannot change while anyone holds that role), so an
admin's edit pays no query for it. Every other check reads the database: it must see the
committed state, not a cache. Given the operation's transaction (`conn`), a check reads inside
it, so what it saw still holds when the change commits, at no extra connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core.context import current
from seam_api.core.errors import Forbidden
from seam_api.permissions import repository as permissions_repository
from seam_api.ports import Parts
from seam_api.roles import repository as roles_repository
from seam_api.users import repository as users_repository


async def check_permission_grant(seam: Parts, *, role_id: int, permission_id: int) -> None:
    """Assigning `permission_id` to `role_id`: the caller holds it, and the role is not its own."""
    caller_role = _caller_role()
    if caller_role is None:
        return
    if await seam.permissions.is_admin(caller_role):
        return
    async with seam.db.read() as conn:
        if role_id == caller_role:
            raise Forbidden("errors.delegation_own_role")
        permission = await permissions_repository.get(conn, permission_id=permission_id)
        if permission is None:
            return  # the service answers the unknown id
        if permission["name_uri"].lower() not in await _held(conn, caller_role):
            raise Forbidden("errors.delegation_permission")


async def check_role_change(seam: Parts, *, role_id: int) -> None:
    """Taking permissions from `role_id`: not the caller's own role."""
    caller_role = _caller_role()
    if caller_role is None or role_id != caller_role:
        return
    if not await seam.permissions.is_admin(caller_role):
        raise Forbidden("errors.delegation_own_role")


async def check_role_grant(seam: Parts, *, role_id: int | None) -> None:
    """Giving someone `role_id`: it holds nothing the caller's role lacks."""
    caller_role = _caller_role()
    if caller_role is None or role_id is None or await seam.permissions.is_admin(caller_role):
        return
    async with seam.db.read() as conn:
        await _within_reach(conn, caller_role, role_id, "errors.delegation_role")


async def check_user_change(
    seam: Parts,
    *,
    user_id: int,
    new_role_id: int | None = None,
    within: AsyncConnection | None = None,
) -> None:
    """Editing, disabling, resetting or deleting `user_id` (and maybe giving it `new_role_id`):
    the account holds nothing the caller lacks, and the caller's own role stays as it is."""
    context = current()
    caller_role = _caller_role()
    if context is None or caller_role is None or await seam.permissions.is_admin(caller_role):
        return
    async with _reading(seam, within) as conn:
        target = await users_repository.get_account(conn, user_id=user_id)
        if target is None:
            return  # the service answers 404
        changes_role = new_role_id is not None and new_role_id != target["role_id"]
        if user_id == context.user_id and changes_role:
            raise Forbidden("errors.delegation_own_role")
        await _within_reach(conn, caller_role, target["role_id"], "errors.delegation_superior")
        if changes_role and new_role_id is not None:
            await _within_reach(conn, caller_role, new_role_id, "errors.delegation_role")


async def reachable_role_ids(seam: Any, *, role_id: int) -> list[int]:
    """The roles a holder of `role_id` may hand out, and whose accounts it may change: every
    role for `admin`, else those holding nothing `role_id` lacks (the rule the checks above
    apply one at a time). For clients to offer only what will work."""
    admin = await seam.permissions.is_admin(role_id)  # before the read: it may load itself
    async with seam.db.read() as conn:
        every_role = sorted(await roles_repository.all_ids(conn))
        if admin:
            return every_role
        held = await _held(conn, role_id)
        return [other for other in every_role if await _held(conn, other) <= held]


@asynccontextmanager
async def _reading(seam: Parts, within: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
    """The operation's own transaction when it gave one, else a read of our own."""
    if within is not None:
        yield within
        return
    async with seam.db.read() as conn:
        yield conn


def _caller_role() -> int | None:
    context = current()
    return None if context is None or context.user_id is None else context.role_id


async def _held(conn: AsyncConnection, role_id: int) -> set[str]:
    return {
        uri.lower()
        for uri in await permissions_repository.name_uris_for_role(conn, role_id=role_id)
    }


async def _within_reach(conn: AsyncConnection, caller_role: int, role_id: int, key: str) -> None:
    if not await _held(conn, role_id) <= await _held(conn, caller_role):
        raise Forbidden(key)
