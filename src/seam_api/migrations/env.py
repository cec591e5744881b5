"""Alembic environment: runs on the connection `seam_api.core.migrate` hands over."""

from __future__ import annotations

from alembic import context

from seam_api.models import metadata

connection = context.config.attributes["connection"]
sqlite = connection.dialect.name == "sqlite"
if sqlite:
    # SQLite rebuilds a table to change it (copy, drop, rename); with foreign keys on, the drop
    # would run the ON DELETE actions of every table referring to it and empty them. The pragma
    # is ignored inside a transaction, so it is set (and checked) before Alembic begins one.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    off = not connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    connection.commit()
    if not off:
        raise RuntimeError("could not turn SQLite foreign keys off for the migration")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=sqlite,
    compare_type=True,
)
try:
    with context.begin_transaction():
        context.run_migrations()
finally:
    if sqlite:
        connection.commit()
        dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
        if dangling:
            raise RuntimeError(f"the migration left rows with dangling foreign keys: {dangling}")
