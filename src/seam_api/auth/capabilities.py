"""What a signed-in caller may do beyond its route permissions, for clients to offer only what
will work. One function that the login, `GET /auth/capabilities` and any account route share;
the rules themselves live in delegation.py alone."""

from __future__ import annotations

from seam_api import delegation
from seam_api.auth.schemas import Capabilities
from seam_api.operations import operation, step
from seam_api.ports import Parts
from seam_api.roles import service as roles_service
from seam_api.roles.constants import ADMIN_ROLE
from seam_api.security.sessions import Caller


async def capabilities(seam: Parts, *, role_id: int) -> Capabilities:
    """The capabilities of a holder of `role_id`."""
    reachable = await delegation.reachable_role_ids(seam, role_id=role_id)
    async with seam.db.read() as conn:
        admin = await roles_service.get_by_name(conn, role_name=ADMIN_ROLE)
    return Capabilities(
        assignable_role_ids=reachable,
        may_manage_admins=admin is not None and admin.id_role in reachable,
    )


@operation("capabilities:fetchOne")
async def fetch(seam: Parts, *, caller: Caller) -> Capabilities:
    """For a reloaded page, or after an admin changed what the caller's role holds."""
    step(seam, "querying")
    return await capabilities(seam, role_id=caller.role_id)
