"""A deleted account's id never comes back, and a token never outlives the account it was
issued for: not through a reused id, nor through a cached "no such account"."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from alembic import command
from sqlalchemy import (
    Column,
    Connection,
    Insert,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api.core import migrate
from seam_api.core.db import Database
from seam_api.models import (
    permissions,
    role_permissions,
    role_sidebar_items,
    roles,
    sidebar_items,
    users,
)
from tests.conftest import Databases, login
from tests.helpers import API, PASSWORD, data, register, role_id_named
from tests.security.test_tokens import reissued, status_with


async def test_a_deleted_users_id_is_never_given_again(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = await register(client, admin_headers)
    data(await client.delete(f"{API}/users/{first['idUser']}", headers=admin_headers))

    second = await register(client, admin_headers)

    assert second["idUser"] > first["idUser"]


async def test_a_token_naming_a_later_accounts_id_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """What a reused id would have let through: the old token, its id now someone else's."""
    admin_role = await role_id_named(client, admin_headers, "admin")
    gone = await register(client, admin_headers, role_id=admin_role)
    old_token = await login(client, gone["email"], PASSWORD)
    data(await client.delete(f"{API}/users/{gone['idUser']}", headers=admin_headers))
    later = await register(client, admin_headers, role_id=admin_role)

    assert await status_with(client, reissued(old_token, idUser=later["idUser"])) == 401


async def test_an_id_refused_before_its_account_exists_is_honoured_once_it_does(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    latest = await register(client, admin_headers)
    token = await login(client, latest["email"], PASSWORD)
    next_id = latest["idUser"] + 1
    # Remembers "no such account" for the id the next registration will get.
    assert await status_with(client, reissued(token, idUser=next_id)) == 401

    newcomer = await register(client, admin_headers)

    assert newcomer["idUser"] == next_id
    newcomer_token = await login(client, newcomer["email"], PASSWORD)
    assert await status_with(client, newcomer_token) == 200


# -- the upgrade that brings it to existing databases -----------------------------------------


# roles and users as revision 0002 made them: columns the model gained later do not exist yet.
AT_0002 = MetaData()
ROLES_AT_0002 = Table(
    "roles",
    AT_0002,
    Column("id_role", Integer, primary_key=True),
    Column("role_name", String(50)),
    Column("role_name_key", String(150)),
)
USERS_AT_0002 = Table(
    "users",
    AT_0002,
    Column("id_user", Integer, primary_key=True),
    *(Column(name, String(255)) for name in ("full_name", "email", "password_hash")),
    *(Column(name, Integer) for name in ("role_id", "is_active", "token_version")),
)


@pytest.fixture
async def db(databases: Databases, backend: str) -> AsyncIterator[Database]:
    """A database of `backend` at revision 0002, holding assignments that refer to each table
    and two users (ids given by the database)."""
    database = Database(await databases.create(backend))
    await upgrade(database, "0002")
    async with database.transaction() as conn:
        role = await new_id(conn, insert(ROLES_AT_0002).values(role_name="r", role_name_key="r"))
        permission = await new_id(conn, insert(permissions).values(name_uri="G", name_uri_key="g"))
        item = await new_id(conn, insert(sidebar_items).values(name_item="Home"))
        await conn.execute(insert(role_permissions).values(role_id=role, permission_id=permission))
        await conn.execute(insert(role_sidebar_items).values(role_id=role, item_id=item))
        for number in (1, 2):
            await conn.execute(insert(USERS_AT_0002).values(**_user(number, role)))
    yield database
    await database.dispose()


async def new_id(conn: AsyncConnection, statement: Insert) -> int:
    return int((await conn.execute(statement)).inserted_primary_key[0])  # type: ignore[index]


def _user(number: int, role_id: int) -> dict[str, object]:
    return {
        "full_name": "Old",
        "email": f"old-{number}@example.com",
        "password_hash": "x",
        "role_id": role_id,
        "is_active": 1,
        "token_version": 0,
    }


async def upgrade(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()

    async with database.engine.connect() as connection:
        await connection.run_sync(run)


async def test_the_upgrade_keeps_every_row_and_assignment(db: Database) -> None:
    async with db.read() as conn:
        before = (await conn.execute(select(users.c.id_user).order_by(users.c.id_user))).all()

    await upgrade(db, "head")

    async with db.read() as conn:
        counts = [
            (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (roles, permissions, sidebar_items, role_permissions, role_sidebar_items)
        ]
        after = (await conn.execute(select(users.c.id_user).order_by(users.c.id_user))).all()
    assert counts == [1, 1, 1, 1, 1]
    assert after == before


async def test_after_the_upgrade_a_deleted_id_is_never_given_again(db: Database) -> None:
    await upgrade(db, "head")

    async with db.transaction() as conn:
        highest = (await conn.execute(select(func.max(users.c.id_user)))).scalar_one()
        role_id = (await conn.execute(select(roles.c.id_role))).scalar_one()
        await conn.execute(delete(users).where(users.c.id_user == highest))
        given = await new_id(conn, insert(users).values(**_user(3, role_id)))

    assert given > highest
