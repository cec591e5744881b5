"""`seam-api backup` and `restore` on SQLite: a copy taken under load is one consistent state;
restored, users, roles and the audit trail are intact, event ids continue upward, and a client
whose cursor is ahead of the restored log gets data:resync."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import socketio

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, bearer, login, start_server
from tests.helpers import API, unique

SEAM_API = str(Path(sys.executable).with_name("seam-api"))


def _command(workdir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SEAM_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'seam.db'}",
        "SEAM_JWT_SECRET": JWT_SECRET,
    }
    return subprocess.run(
        [SEAM_API, *arguments], env=env, cwd=workdir, capture_output=True, text=True, timeout=60
    )


def _state(database: Path) -> dict[str, Any]:
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        roles = {row[0] for row in db.execute("SELECT role_name FROM roles")}
        created = {
            row[0]
            for row in db.execute(
                "SELECT json_extract(changes, '$.roleName[1]') FROM events"
                " WHERE operation = 'role:create'"
            )
        }
        users = {row[0] for row in db.execute("SELECT email FROM users")}
        last = db.execute("SELECT last_id FROM event_sequence").fetchone()[0]
        top = db.execute("SELECT max(event_id) FROM events").fetchone()[0]
    return {"roles": roles, "created": created, "users": users, "last": last, "top": top}


async def _load(http: httpx.AsyncClient, headers: dict[str, str], stop: asyncio.Event) -> int:
    made = 0
    while not stop.is_set():
        response = await http.post(f"{API}/roles", headers=headers, json={"roleName": unique("r")})
        assert response.status_code == 201, response.text
        made += 1
    return made


async def test_a_backup_under_load_restores_intact_and_clients_ahead_resync(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "backup.db"
    server = start_server(tmp_path, {})
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            headers = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
            stop = asyncio.Event()
            load = asyncio.create_task(_load(http, headers, stop))
            await asyncio.sleep(1)
            backed_up = await asyncio.to_thread(_command, tmp_path, "backup", str(copy))
            await asyncio.sleep(0.5)
            stop.set()
            assert await load > 0
            assert backed_up.returncode == 0, backed_up.stderr
            late = await http.post(f"{API}/roles", headers=headers, json={"roleName": "late"})
            assert late.status_code == 201  # after the backup: the cursor below is ahead of it
            trail = (await http.get(f"{API}/audit", headers=headers, params={"limit": 1})).json()
            cursor_ahead = int(trail["data"][0]["eventId"])
    finally:
        server.stop()
    assert (copy.stat().st_mode & 0o777) == 0o600
    saved = _state(copy)
    assert saved["roles"] >= saved["created"] and saved["created"]  # every role with its entry
    assert len(saved["roles"] - saved["created"]) == 2  # the bootstrap's admin and user roles
    assert ADMIN_EMAIL in saved["users"]
    assert cursor_ahead > saved["last"]

    refused = _command(tmp_path, "restore", str(copy))
    assert refused.returncode == 1 and "--force" in refused.stderr
    restored = _command(tmp_path, "restore", str(copy), "--force")
    assert restored.returncode == 0, restored.stderr
    now = _state(tmp_path / "seam.db")
    assert (now["roles"], now["created"], now["users"]) == (
        saved["roles"],
        saved["created"],
        saved["users"],
    )
    assert now["last"] > cursor_ahead  # ids continue upward

    server = start_server(tmp_path, {})
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            created = await http.post(
                f"{API}/roles", headers=bearer(token), json={"roleName": "after"}
            )
            assert created.status_code == 201
            newest = (
                await http.get(f"{API}/audit", headers=bearer(token), params={"limit": 1})
            ).json()["data"][0]
            assert int(newest["eventId"]) > cursor_ahead
            client = socketio.AsyncClient(reconnection=False)
            seen: list[tuple[str, Any]] = []
            client.on("*", lambda event, *args: seen.append((event, args[0] if args else None)))
            await client.connect(
                server.url,
                auth={"token": token, "since": str(cursor_ahead)},
                transports=["websocket"],
                wait_timeout=10,
            )
            await client.disconnect()
    finally:
        server.stop()
    assert seen[0] == ("data:resync", {"reason": "unknown_cursor"}), seen
