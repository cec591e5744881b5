"""An SMTP server for each test of this folder (tests/mailbox.py), and apps that send to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mailbox import SmtpSink, smtp_sink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink
