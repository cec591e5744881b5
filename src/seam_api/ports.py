"""What a service may use of the running app, as a protocol: services are typed against this,
not against the container, so the container stays the top of the house (imported only by the
app, the CLI and the bootstrap) and a test can hand a service any object that fits."""

from __future__ import annotations

from typing import Protocol

from seam_api.core.cache import ReadCache
from seam_api.core.db import Database
from seam_api.mail.sender import Mailer
from seam_api.realtime.eventlog import EventLog
from seam_api.realtime.server import Realtime
from seam_api.security.access import PermissionCache
from seam_api.security.credentials import TokenSigner
from seam_api.security.keys import KeyGuard
from seam_api.security.limits import LoginLimiter
from seam_api.security.secrets_box import CodeHasher, SecretsBox
from seam_api.security.sessions import SessionGuard
from seam_api.settings import Settings


class Parts(Protocol):
    """The app's long-lived parts and the notices that keep every instance's caches true."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def signer(self) -> TokenSigner: ...

    @property
    def limiter(self) -> LoginLimiter: ...

    @property
    def sessions(self) -> SessionGuard: ...

    @property
    def keys(self) -> KeyGuard: ...

    @property
    def mail(self) -> Mailer | None:
        """None without SEAM_SMTP_URL."""

    @property
    def secrets_box(self) -> SecretsBox:
        """Encrypts what must be read back (TOTP secrets)."""

    @property
    def code_hasher(self) -> CodeHasher:
        """Keyed hashes of random tokens and codes."""

    @property
    def reads(self) -> ReadCache: ...

    @property
    def permissions(self) -> PermissionCache: ...

    @property
    def realtime(self) -> Realtime: ...

    async def data_changed(self) -> None:
        """A mutation committed: cached reads are stale on every instance."""

    async def permissions_changed(self, operation: str, entity_id: int) -> None:
        """A role gained or lost permissions, or roles came, went or were renamed: `operation`
        on `entity_id`, as its log entry names them."""

    async def account_changed(self, user_id: int, *, revoked: bool) -> None:
        """A user's role, state or token version changed; `revoked` closes their sockets."""

    async def token_revoked(self, token_id: str, expires_at: int) -> None:
        """One token was revoked (logout)."""

    async def key_revoked(self, key_id: int) -> None:
        """An API key was revoked: dropped from every cache, its sockets closed."""
