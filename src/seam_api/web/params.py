"""The API prefix, and the path and query parameter types the routers share.

Ids are positive integers (docs/reference.md §4); anything else is a 400, never a 500.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from seam_api.core.types import MAX_ID, NO_NUL_PATTERN

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive integer id")]
Page = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")]
Limit = Annotated[int, Query(ge=1, le=200, description="Rows per page, 1 to 200")]
WithTotal = Annotated[
    bool,
    Query(alias="withTotal", description="`true` adds `meta: {page, limit, total}`"),
]


def search_query(fields: str) -> Any:
    """A list's `search` over `fields`: `Annotated[str | None, search_query("...")]`."""
    return Query(
        max_length=100,
        description=f"A case-insensitive part of {fields}; `%` and `_` are plain characters, "
        "blanks around it are dropped",
        pattern=NO_NUL_PATTERN,
    )


def sort_query(fields: str) -> Any:
    """A list's `sort` parameter over `fields`."""
    return Query(description=f"One of {fields}; a leading `-` sorts descending")


# Routers carry the full prefix themselves, so a route's own path is its permission's path.
API_PREFIX = "/api/v1"
