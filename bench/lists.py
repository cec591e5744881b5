"""(l): the users list searched, filtered and sorted with 100,000 users in the database.

The users are written straight into the running server's database (one multi-row insert per
thousand, all with one Argon2id hash): registering them through the API would spend the
phase hashing. Filtered and sorted pages are never cached, so each request reads the table.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from seam_api.models import roles, users
from seam_api.security.credentials import PASSWORD_HASHER

USERS = 100_000
BATCH = 1_000
SAMPLES = 30
# What a console does with a long list: search a name or an email, filter, sort, page on.
QUERIES = {
    "search a name, with the total": {"search": "user 4242", "withTotal": "true"},
    "search an email domain, with the total": {"search": "@corp-7.example", "withTotal": "true"},
    "sort by name, page 200": {"sort": "full_name", "page": "200"},
    "sort by email descending": {"sort": "-email"},
    "sort by role name": {"sort": "roleName"},
    "active only, with the total": {"isActive": "1", "withTotal": "true"},
}


@dataclass(frozen=True)
class ListTiming:
    query: str
    p50_ms: float
    p99_ms: float
    total: int | None


async def fill(database_url: str, count: int = USERS) -> None:
    """`count` users beside the bootstrap's, in the default role."""
    engine = create_async_engine(database_url)
    password_hash = PASSWORD_HASHER.hash("bench-users-password")
    try:
        async with engine.begin() as conn:
            role_id = (
                await conn.execute(select(roles.c.id_role).where(roles.c.role_name == "user"))
            ).scalar_one()
            for start in range(0, count, BATCH):
                rows = [
                    {
                        "full_name": f"User {number}",
                        "email": f"user{number}@corp-{number % 10}.example",
                        "password_hash": password_hash,
                        "role_id": role_id,
                        "is_active": 0 if number % 7 == 0 else 1,
                        "token_version": 1,
                    }
                    for number in range(start, min(count, start + BATCH))
                ]
                await conn.execute(insert(users), rows)
    finally:
        await engine.dispose()


async def measure(url: str, token: str) -> list[ListTiming]:
    """Each query one request at a time: a few to warm up, then SAMPLES timed."""
    timings = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        for name, params in QUERIES.items():
            seconds = []
            total = None
            for sample in range(SAMPLES + 3):
                started = time.perf_counter()
                answer = await http.get("/api/v1/users", params=params)
                elapsed = time.perf_counter() - started
                answer.raise_for_status()
                if sample >= 3:
                    seconds.append(elapsed)
                total = answer.json().get("meta", {}).get("total")
            seconds.sort()
            timings.append(
                ListTiming(
                    query=name,
                    p50_ms=1000 * statistics.median(seconds),
                    p99_ms=1000 * seconds[min(len(seconds) - 1, round(0.99 * len(seconds)))],
                    total=total,
                )
            )
    return timings


def run(database_url: str, url: str, token: str) -> list[ListTiming]:
    asyncio.run(fill(database_url))
    return asyncio.run(measure(url, token))
