"""Sending email over SMTP with aiosmtplib: plain, implicit TLS (`smtps://`) or STARTTLS
(`smtp+starttls://`), each with a timeout.

A request never waits for the mail server: its email is handed to a background task, which
tries a few times with growing pauses. Each failed attempt is logged (its kind, the error's
type, never the server's credentials or the message) and counted in
`seam_mail_failures_total`; the requester's answer does not change, since saying "the mail
server is down" to an anonymous caller would tell them nothing they need and something about
the accounts it was for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from seam_api.ops.metrics import MAIL_FAILURES, MAIL_SENT

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
# Pauses before the second, third and fourth attempts.
RETRY_DELAYS = (2.0, 10.0, 30.0)
STOP_GRACE = 5.0  # seconds a stopping server gives mail in flight


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to hand mail over, from SEAM_SMTP_URL."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # TLS from the first byte (smtps)
    start_tls: bool  # plain, then STARTTLS before anything else (smtp+starttls)

    def __repr__(self) -> str:  # the password must never reach a log line
        return f"SmtpServer({self.hostname}:{self.port}, tls={self.use_tls or self.start_tls})"

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("an SMTP URL is smtp://host:port, smtps://… or smtp+starttls://…")
        return cls(
            hostname=parts.hostname,
            port=parts.port or DEFAULT_PORTS[scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=scheme == "smtps",
            start_tls=scheme == "smtp+starttls",
        )


class Mailer:
    """Hands messages to one SMTP server, in the background, with retries."""

    def __init__(
        self,
        server: SmtpServer,
        *,
        sender: str,
        timeout: float,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.server = server
        self.sender = sender
        self.timeout = timeout
        self.retry_delays = retry_delays
        self._tasks: set[asyncio.Task[None]] = set()

    async def send_now(self, message: EmailMessage) -> None:
        """One attempt; raises what aiosmtplib raises (SMTPException, OSError, timeouts)."""
        server = self.server
        await aiosmtplib.send(
            message,
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=self.timeout,
        )

    async def deliver(self, message: EmailMessage, *, kind: str) -> bool:
        """Try until one attempt succeeds or the retries are spent; True once sent."""
        attempts = len(self.retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                await self.send_now(message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                MAIL_FAILURES.labels(kind).inc()
                log.warning(
                    "sending the %s email failed (attempt %d of %d): %s",
                    kind,
                    attempt,
                    attempts,
                    type(error).__name__,
                )
                if attempt < attempts:
                    await asyncio.sleep(self.retry_delays[attempt - 1])
            else:
                MAIL_SENT.labels(kind).inc()
                return True
        log.error("gave up sending the %s email after %d attempts", kind, attempts)
        return False

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (which prepares and delivers an email) after the request has answered."""
        task = asyncio.create_task(work, name="seam-mail")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("preparing an email failed: %s", type(error).__name__)

    async def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for mail in flight, then give up on the rest."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def stop(self) -> None:
        await self.drain(STOP_GRACE)
