"""First-start (and post-upgrade) seeding: route permissions, the admin and default roles, the
admin user. Idempotent: a re-run creates the permissions of new routes, gives those to `admin`,
and changes nothing else."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.container import Seam
from seam_api.core.access import guarded_permissions
from seam_api.core.security import hash_password, temporary_password
from seam_api.permissions import repository as permissions_repository
from seam_api.roles import repository as roles_repository
from seam_api.users import repository as users_repository

log = logging.getLogger(__name__)

ADMIN_ROLE = "admin"


@dataclass(frozen=True, slots=True)
class BootstrapReport:
    """What a run created; `admin_password` is set only when it was generated."""

    permissions_created: int
    admin_created: bool
    admin_password: str | None


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
        admin_exists = await users_repository.email_taken(conn, email=settings.admin_email.lower())
    if not admin_exists:
        if password is None:
            password = generated = temporary_password()
        password_hash = await hash_password(password)
    async with seam.db.transaction() as conn:
        admin_role = await _ensure_role(conn, ADMIN_ROLE, "Full access to every route")
        await _ensure_role(conn, settings.default_role, "Default role for self-registration")
        created = 0
        for name_uri in guarded_permissions(routes):
            if await permissions_repository.find_by_name_uri(conn, name_uri=name_uri):
                continue
            permission_id = await permissions_repository.create(
                conn, name_uri=name_uri, description=f"Route {name_uri}"
            )
            await permissions_repository.assign(
                conn, role_id=admin_role, permission_id=permission_id
            )
            created += 1
        if not admin_exists and not await users_repository.email_taken(
            conn, email=settings.admin_email.lower()
        ):
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
        permissions_created=created, admin_created=not admin_exists, admin_password=generated
    )


async def _ensure_role(conn: AsyncConnection, role_name: str, description: str) -> int:
    row = await roles_repository.get_by_name(conn, role_name=role_name)
    if row is not None:
        return int(row["id_role"])
    return await roles_repository.create(conn, role_name=role_name, description=description)
