"""Backups of an SQLite deployment: a consistent copy of the running database, and putting
one back while the server is stopped.

Copying the file is not a backup: with WAL, the last commits sit in `seam.db-wal`, and a copy
taken while a write lands is torn. SQLite's online backup API copies the pages under a read
snapshot, so the copy is one commit's state, taken while the server keeps serving.

Restoring goes back in time, and clients and tokens have seen the future:
- the event sequence is set past the higher of the two databases' last ids, so new events get
  ids above every id a client may hold, and a client's cursor from the lost stretch (the last
  one included) names no entry of the restored log: it gets `data:resync`, never silence
  (EventLog.missed);
- every account's token version is raised: a token revoked after the backup was taken would
  otherwise count again, so every session ends and users sign in again.
PostgreSQL and MariaDB have their own tools (docs/operations.md).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    """Why a backup or restore was refused; the command prints it."""


def backup(database: Path, target: Path) -> int:
    """Copy the live database to `target` (owner-only, replaced at once); the last event id."""
    if not database.exists():
        raise BackupError(f"no database at {database}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)  # one step: a single read snapshot
        last = _last_event_id(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        copy.close()
        source.close()
    os.replace(partial, target)
    return last


def restore(backup_file: Path, database: Path, *, force: bool) -> int:
    """Put `backup_file` in place of `database` (the server must be stopped); the last id."""
    copy = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{backup_file} is damaged")
        restored_last = _last_event_id(copy)
        current_last = _current_last_event_id(database)
        if current_last > restored_last and not force:
            raise BackupError(
                f"the database is newer than the backup (event {current_last} against "
                f"{restored_last}); add --force to go back to the backup"
            )
        if not database.exists():
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        target = sqlite3.connect(database, timeout=30)
        try:
            copy.backup(target)
            following = max(restored_last, current_last) + 1
            target.execute("UPDATE event_sequence SET last_id = ? WHERE id = 1", (following,))
            target.execute("UPDATE users SET token_version = token_version + 1")
            target.commit()
        finally:
            target.close()
    finally:
        copy.close()
    return following


def _last_event_id(connection: sqlite3.Connection) -> int:
    try:
        row = connection.execute("SELECT last_id FROM event_sequence WHERE id = 1").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"not a SEAM API database: {error}") from None
    return int(row[0]) if row else 0


def _current_last_event_id(database: Path) -> int:
    """The last id of the database being replaced; 0 if it is missing or unreadable."""
    if not database.exists():
        return 0
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return _last_event_id(connection)
        finally:
            connection.close()
    except (sqlite3.DatabaseError, BackupError):
        return 0
