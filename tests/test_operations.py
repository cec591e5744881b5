"""`record()` leaves the log entry to the transaction: written as its last statement when it
commits, whatever the service runs after the call, and not at all when it rolls back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from seam_api.app import Application
from seam_api.core.context import OperationRun, RequestContext, begin
from seam_api.models import events
from seam_api.operations import record


@pytest.fixture
def backend() -> str:
    """The order is the transaction helper's, the same on every database."""
    return "sqlite"


async def test_the_entry_is_the_last_statement_even_when_the_service_goes_on(
    app: Application,
) -> None:
    seam = app.seam
    run = OperationRun("role:create")
    begin(RequestContext(locale="en", user_id=1, run=run))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        verb, table = re.findall(r"\w+", statement.replace(" INTO ", " "))[:2]
        statements.append(f"{verb} {table}")

    engine = seam.db.write_engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with seam.db.transaction() as conn:
            await record(seam, conn, entity="role", entity_id=7, changes={}, result={"idRole": 7})
            await conn.execute(text("UPDATE roles SET description = description WHERE 0"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert statements[-3:] == ["UPDATE roles", "UPDATE event_sequence", "INSERT events"]
    assert run.recorded is not None and run.before_commit is None


async def test_a_transaction_that_rolls_back_writes_no_entry(app: Application) -> None:
    seam = app.seam
    run = OperationRun("role:create")
    begin(RequestContext(locale="en", user_id=1, run=run))
    async with seam.db.read() as conn:
        before = (await conn.execute(select(func.count()).select_from(events))).scalar_one()

    with pytest.raises(RuntimeError, match="the service failed"):
        async with seam.db.transaction() as conn:
            await record(seam, conn, entity="role", entity_id=7, changes={}, result={})
            raise RuntimeError("the service failed")

    async with seam.db.read() as conn:
        after = (await conn.execute(select(func.count()).select_from(events))).scalar_one()
    assert after == before
    assert run.recorded is None
