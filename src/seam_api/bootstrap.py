"""First-start (and post-upgrade) seeding: route permissions, the admin and default roles, the
admin user, and the admin console's sidebar. Idempotent: a re-run creates the permissions of
new routes, gives those to `admin`, and changes nothing else.

Also the command-line account recovery (`seam-api admin set-password` and `admin create`),
which works on the database directly because its user has lost the way in through the API."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.container import Seam
from seam_api.permissions import repository as permissions_repository
from seam_api.roles import repository as roles_repository
from seam_api.roles.constants import ADMIN_ROLE
from seam_api.security.access import guarded_permissions, route_permission
from seam_api.security.credentials import hash_password, temporary_password
from seam_api.sidebar import repository as sidebar_repository
from seam_api.users import repository as users_repository

log = logging.getLogger(__name__)


# The admin console's pages (name, icon, route), given to `admin` when the bootstrap creates
# that role, that is on a fresh database: items an admin deleted later are never re-added.
CONSOLE_SIDEBAR = (
    ("Users", "users", "/admin/users"),
    ("Roles", "shield", "/admin/roles"),
    ("Permissions", "key", "/admin/permissions"),
    ("Sidebar", "menu", "/admin/sidebar"),
    ("Audit", "history", "/admin/audit"),
)


@dataclass(frozen=True, slots=True)
class BootstrapReport:
    """What a run created; `admin_password` is set only when it was generated."""

    permissions_created: int
    admin_created: bool
    admin_password: str | None
    # SEAM_ADMIN_PASSWORD was set but the admin existed: it changed nothing.
    admin_password_ignored: bool = False


async def bootstrap(seam: Seam, routes: Iterable[object]) -> BootstrapReport:
    """Seed the database; safe to run on every start, and by several instances at once."""
    routes = list(routes)
    try:
        return await _bootstrap(seam, routes)
    except IntegrityError:
        # Another instance seeded the same rows between our reads and writes: its rows stand.
        return await _bootstrap(seam, routes)


async def _bootstrap(seam: Seam, routes: list[object]) -> BootstrapReport:
    settings = seam.settings
    generated: str | None = None
    password = settings.admin_password
    async with seam.db.read() as conn:
        admin_exists = await _has_admin(conn, settings.admin_email.lower())
    if not admin_exists:
        if password is None:
            password = generated = temporary_password()
        password_hash = await hash_password(password)
    async with seam.db.transaction() as conn:
        admin_role, fresh = await _ensure_role(conn, ADMIN_ROLE, "Full access to every route")
        await _ensure_role(conn, settings.default_role, "Default role for self-registration")
        if fresh:
            await _seed_console_sidebar(conn, admin_role)
        created = 0
        descriptions = _route_summaries(routes)
        for name_uri in guarded_permissions(routes):
            if await permissions_repository.find_by_name_uri(conn, name_uri=name_uri):
                continue
            permission_id = await permissions_repository.create(
                conn, name_uri=name_uri, description=descriptions.get(name_uri)
            )
            await permissions_repository.assign(
                conn, role_id=admin_role, permission_id=permission_id
            )
            created += 1
        if not admin_exists and not await _has_admin(conn, settings.admin_email.lower()):
            await users_repository.create(
                conn,
                full_name="Administrator",
                email=settings.admin_email.lower(),
                password_hash=password_hash,
                role_id=admin_role,
            )
        else:
            generated = None
    if created:
        log.info("bootstrap: %d route permissions created and given to %s", created, ADMIN_ROLE)
    return BootstrapReport(
        permissions_created=created,
        admin_created=not admin_exists,
        admin_password=generated,
        admin_password_ignored=admin_exists and settings.admin_password is not None,
    )


def _route_summaries(routes: list[object]) -> dict[str, str]:
    """Each route permission's description: its route's own summary, in English ("Edit a
    user; ..."), so the route table stays the one source and people read what it allows."""
    return {
        route_permission(method, route): route.summary
        for route in routes
        if isinstance(route, APIRoute) and route.summary
        for method in route.methods or ()
    }


async def _has_admin(conn: AsyncConnection, email: str) -> bool:
    """The configured admin exists, or another account already holds `admin`: the admin from
    configuration is for a first start, and a later run (say, after the default address
    changed) must not add a second one (contract 3: a re-run changes nothing else)."""
    if await users_repository.email_taken(conn, email=email):
        return True
    role = await roles_repository.get_by_name(conn, role_name=ADMIN_ROLE)
    return (
        role is not None and await roles_repository.count_holders(conn, role_id=role["id_role"]) > 0
    )


async def _ensure_role(conn: AsyncConnection, role_name: str, description: str) -> tuple[int, bool]:
    """The role's id, and whether this call created it."""
    row = await roles_repository.get_by_name(conn, role_name=role_name)
    if row is not None:
        return int(row["id_role"]), False
    role_id = await roles_repository.create(conn, role_name=role_name, description=description)
    return role_id, True


async def _seed_console_sidebar(conn: AsyncConnection, admin_role: int) -> None:
    for name, icon, route in CONSOLE_SIDEBAR:
        item_id = await sidebar_repository.create(
            conn, values={"name_item": name, "icon_item": icon, "route": route}
        )
        await sidebar_repository.assign(conn, item_id=item_id, role_id=admin_role)


# -- command-line account recovery ---------------------------------------------------------


class AccountError(Exception):
    """A recovery command cannot do what was asked; the message says why."""


async def set_password(seam: Seam, *, email: str, password: str) -> None:
    """Give the account `email` a new password and end all its sessions, on every instance
    that shares Redis with this one."""
    password_hash = await hash_password(password)
    async with seam.db.transaction() as conn:
        row = await users_repository.get_credentials(conn, email=email.lower())
        if row is None:
            raise AccountError(f"no account has the email {email}")
        user_id = int(row["id_user"])
        await users_repository.update_fields(
            conn, user_id=user_id, values={"password_hash": password_hash}, revoke_sessions=True
        )
    await seam.account_changed(user_id, revoked=True)


async def create_admin(seam: Seam, *, email: str, password: str, full_name: str) -> None:
    """A new active account in the admin role."""
    password_hash = await hash_password(password)
    async with seam.db.transaction() as conn:
        if await users_repository.email_taken(conn, email=email.lower()):
            raise AccountError(
                f"{email} already has an account; use `seam-api admin set-password {email}`"
            )
        role = await roles_repository.get_by_name(conn, role_name=ADMIN_ROLE)
        if role is None:
            raise AccountError("the admin role does not exist; run `seam-api bootstrap` first")
        user_id = await users_repository.create(
            conn,
            full_name=full_name,
            email=email.lower(),
            password_hash=password_hash,
            role_id=int(role["id_role"]),
        )
        # SQLite may hand out a deleted account's id again: raising the token version keeps
        # that account's old tokens from coming back with it.
        await users_repository.update_fields(conn, user_id=user_id, values={}, revoke_sessions=True)
    await seam.account_changed(user_id, revoked=True)
