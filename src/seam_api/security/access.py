"""Route pattern -> nameUri, the permission cache, and the guard dependencies.

A guarded route's permission is derived from its own path (`PUT /api/v1/users/:id`), so the
route table is the single source of truth: the guard checks it and the bootstrap seeds it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from seam_api.core.context import current
from seam_api.core.errors import Forbidden, Unauthorized
from seam_api.security.sessions import Caller, SessionGuard

_PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")

USERS_READ = "GET /api/v1/users"

# What an API key never reaches (contract 9.5), whatever it was granted: a leaked key must not
# become more access (new keys, a new password, MFA, sessions) or outlive its revocation.
_KEYLESS_PATHS = (
    "/api/v1/auth/keys",
    "/api/v1/auth/password",
    "/api/v1/auth/sessions",
    "/api/v1/auth/mfa",
    "/api/v1/auth/logout",  # a key ends by revocation, not by signing out
)
# An administrator's routes for a user's keys: keys never manage keys, anyone's.
_KEYLESS_ROUTES = frozenset({"/api/v1/users/{id}/keys", "/api/v1/users/{id}/keys/{idKey}"})
_ACCOUNT_PATH = "/api/v1/auth/me"


def name_uri(method: str, path_template: str) -> str:
    """The Express-style permission name of a route: `PUT /api/v1/users/{id}` -> `.../:id`."""
    path = _PATH_PARAM.sub(r":\1", path_template)
    return f"{method.upper()} {path}"


RolePermissionLoader = Callable[[int], Awaitable[Iterable[tuple[int, str]]]]  # (id, nameUri)
RoleIdsLoader = Callable[[], Awaitable[Iterable[int]]]
AdminRoleLoader = Callable[[], Awaitable[int | None]]


class PermissionCache:
    """Each role's permissions (lower-cased nameUris), every role's id and which role is
    `admin`, each loaded once and dropped when a change can touch it (`changed`). A load that
    a change overtook answers its caller but is not kept."""

    def __init__(
        self,
        load_role: RolePermissionLoader,
        load_role_ids: RoleIdsLoader,
        load_admin_role: AdminRoleLoader,
    ) -> None:
        self._load_role = load_role
        self._load_role_ids = load_role_ids
        self._load_admin_role = load_admin_role
        self._by_role: dict[int, frozenset[str]] = {}
        self._ids_by_role: dict[int, frozenset[int]] = {}  # the same permissions, by id
        self._role_ids: tuple[int, ...] | None = None
        self._admin_role: tuple[int | None] | None = None  # (id,) once loaded
        self._generation = 0

    async def holds(self, role_id: int, permission: str) -> bool:
        granted = self._by_role.get(role_id)
        if granted is None:
            generation = self._generation
            loaded = list(await self._load_role(role_id))
            granted = frozenset(uri.lower() for _id, uri in loaded)
            if generation == self._generation:
                self._by_role[role_id] = granted
                self._ids_by_role[role_id] = frozenset(id_ for id_, _uri in loaded)
        return permission.lower() in granted

    async def split_roles(self, permission: str) -> tuple[list[int], list[int]]:
        """Every role id, split into those that hold `permission` and those that do not."""
        role_ids = self._role_ids
        if role_ids is None:
            generation = self._generation
            role_ids = tuple(await self._load_role_ids())
            if generation == self._generation:
                self._role_ids = role_ids
        holders: list[int] = []
        others: list[int] = []
        for role_id in role_ids:
            (holders if await self.holds(role_id, permission) else others).append(role_id)
        return holders, others

    async def is_admin(self, role_id: int) -> bool:
        """Whether `role_id` is the `admin` role. Which role that is can only change when roles
        come or go or one is renamed, and each of those drops this cache like a permission
        change: the admin role keeps its name, and is deleted only once nobody holds it."""
        admin_role = self._admin_role
        if admin_role is None:
            generation = self._generation
            admin_role = (await self._load_admin_role(),)
            if generation == self._generation:
                self._admin_role = admin_role
        return admin_role[0] == role_id

    def changed(self, operation: str, entity_id: str | None) -> None:
        """Drop what one committed change can have touched, from its log entry's operation and
        entity id (or its bus notice, which names the same); anything else drops everything.
        Scoped because a role or permission coming or going dropped the whole cache, and every
        request after it reloaded each role's permissions (creates and deletes of roles ran at
        0.12x-0.19x PocketBase's)."""
        self._generation += 1
        number = int(entity_id) if entity_id is not None and entity_id.isdigit() else None
        if operation in _ONE_ROLES_GRANTS and number is not None:
            self._forget_role(number)
        elif operation == "permission:create":
            pass  # a new permission is nobody's until it is assigned
        elif operation == "permission:delete" and number is not None:
            # Its assignments went with it: the roles that had it (as loaded; a role assigned
            # it since is dropped by that assignment's own entry).
            for role_id, ids in list(self._ids_by_role.items()):
                if number in ids:
                    self._forget_role(role_id)
        elif operation == "role:create":
            self._role_ids = None  # its permissions load when first asked: none yet
            self._admin_role = None  # it may be named `admin` if no role is
        elif operation == "role:edit":
            if self._admin_role == (None,):
                self._admin_role = None  # renamed `admin` while no role was
        elif operation == "role:delete" and number is not None:
            self._forget_role(number)
            self._role_ids = None
            self._admin_role = None
        else:
            self.clear()

    def _forget_role(self, role_id: int) -> None:
        self._by_role.pop(role_id, None)
        self._ids_by_role.pop(role_id, None)

    def clear(self) -> None:
        self._generation += 1
        self._by_role.clear()
        self._ids_by_role.clear()
        self._role_ids = None
        self._admin_role = None


_ONE_ROLES_GRANTS = frozenset({"permission:assign", "permission:unassign"})  # entity: the role


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# What a restricted token is told on every route that does not lift its restriction.
RESTRICTION_MESSAGES = {
    "password": "errors.password_change_required",
    "mfa": "errors.mfa_enrolment_required",
}


async def _authenticate(
    request: Request, *, required: bool, lifts: frozenset[str] = frozenset()
) -> Caller | None:
    token = _bearer_token(request)
    if token is None:
        if required:
            raise Unauthorized("errors.token_required")
        return None
    sessions: SessionGuard = request.app.state.seam.sessions
    caller = await sessions.authenticate(token)
    if caller is None:
        raise Unauthorized("errors.token_invalid")
    if caller.restriction is not None and caller.restriction not in lifts:
        raise Forbidden(RESTRICTION_MESSAGES.get(caller.restriction, "errors.forbidden"))
    context = current()
    if context is not None:
        context.user_id = caller.user_id
        context.role_id = caller.role_id
        context.user_email = caller.email
        context.key_id = caller.key_id
    if caller.key_id is not None and not _key_may_reach(request):
        raise Forbidden("errors.key_not_allowed")
    return caller


def _key_may_reach(request: Request) -> bool:
    route = request.scope.get("route")
    path = route.path_format if isinstance(route, APIRoute) else request.url.path
    if path.startswith(_KEYLESS_PATHS) or path in _KEYLESS_ROUTES:
        return False
    return not (path.startswith(_ACCOUNT_PATH) and request.method != "GET")


async def holds(request: Request, caller: Caller, permission: str) -> bool:
    """Whether the caller may use `permission` now: its role holds it and, for an API key,
    the key was granted it. The role is read from the cache at each call, so demoting a key's
    owner shrinks the key at once."""
    if not caller.key_allows(permission):
        return False
    cache: PermissionCache = request.app.state.seam.permissions
    return await cache.holds(caller.role_id, permission)


async def authenticated(request: Request) -> Caller:
    """Guard for **auth** routes: any valid, unrevoked token of an active account."""
    caller = await _authenticate(request, required=True)
    assert caller is not None
    return caller


async def signed_in(request: Request) -> Caller:
    """Guard of the few routes a restricted token reaches too (GET /auth/me, logout)."""
    caller = await _authenticate(request, required=True, lifts=frozenset(RESTRICTION_MESSAGES))
    assert caller is not None
    return caller


async def changing_password(request: Request) -> Caller:
    """Guard of PUT /auth/password: any valid token, a temporary password's included."""
    caller = await _authenticate(request, required=True, lifts=frozenset({"password"}))
    assert caller is not None
    return caller


async def enrolling_mfa(request: Request) -> Caller:
    """Guard of the TOTP routes: any valid token, one awaiting enrolment included."""
    caller = await _authenticate(request, required=True, lifts=frozenset({"mfa"}))
    assert caller is not None
    return caller


async def optional_caller(request: Request) -> Caller | None:
    """For routes open to anonymous callers that behave differently for signed-in ones."""
    return await _authenticate(request, required=False)


_route_permissions: dict[tuple[str, str], str] = {}


def route_permission(method: str, route: APIRoute) -> str:
    """The nameUri guarding `method` on `route`, computed once per route."""
    key = (method, route.path_format)
    permission = _route_permissions.get(key)
    if permission is None:
        permission = _route_permissions[key] = name_uri(method, route.path_format)
    return permission


async def permitted(request: Request) -> Caller:
    """Guard for **perm** routes: the caller's role must hold this route's nameUri."""
    caller = await authenticated(request)
    permission = route_permission(request.method, request.scope["route"])
    if not await holds(request, caller, permission):
        raise Forbidden("errors.forbidden")
    return caller


async def may_register_any_role(request: Request) -> bool:
    """Registration guard (docs/reference.md §4.1): True when the caller's role holds this route's
    permission; anonymous callers (and callers without it) fall under self-registration."""
    caller = await optional_caller(request)
    if caller is None:
        return False
    permission = route_permission(request.method, request.scope["route"])
    return await holds(request, caller, permission)


# Guards whose route's nameUri is a permission that the bootstrap must create.
_PERMISSION_GUARDS = (permitted, may_register_any_role)


def guarded_permissions(routes: Iterable[object]) -> list[str]:
    """Every nameUri that a **perm** route of the table requires (for the bootstrap)."""
    found: list[str] = []
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        if any(dep.call in _PERMISSION_GUARDS for dep in route.dependant.dependencies):
            found.extend(route_permission(method, route) for method in sorted(route.methods or ()))
    return found


Authenticated = Annotated[Caller, Depends(authenticated)]
SignedIn = Annotated[Caller, Depends(signed_in)]
ChangingPassword = Annotated[Caller, Depends(changing_password)]
EnrollingMfa = Annotated[Caller, Depends(enrolling_mfa)]
Permitted = Annotated[Caller, Depends(permitted)]
MayRegisterAnyRole = Annotated[bool, Depends(may_register_any_role)]
