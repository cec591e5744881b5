"""A real SMTP server in the test process (aiosmtpd, on its own thread) that keeps what it
receives: for the tests of mail and for servers that must be able to send it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.server_process import free_port


@dataclass
class Received:
    """One message as the SMTP server got it: the envelope and the parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())  # type: ignore[attr-defined]


@dataclass
class Inbox:
    """The SMTP handler: records every message; `delay` makes it slow to accept one."""

    received: list[Received] = field(default_factory=list)
    delay: float = 0.0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int, within: float = 10) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} emails arrived, {count} expected")
            await asyncio.sleep(0.02)
        return self.received


@dataclass
class SmtpSink:
    inbox: Inbox
    url: str


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server on a free port for the length of the block."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink(inbox, f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()


def link_token(received: Received) -> str:
    """The token of the link in an emailed message, wherever the link points."""
    found = re.search(r"/admin/reset#token=([A-Za-z0-9_-]+)", received.part("plain"))
    assert found, received.part("plain")
    return found.group(1)
