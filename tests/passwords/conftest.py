"""A real SMTP server in the test process (aiosmtpd, on its own thread) that keeps what it
receives, and apps that send mail to it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port


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


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink(inbox, f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()
