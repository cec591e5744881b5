"""The API prefix, and the path and query parameter types the routers share.

Ids are positive integers (docs/reference.md §4); anything else is a 400, never a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from seam_api.core.types import MAX_ID

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive integer id")]
Page = Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")]
Limit = Annotated[int, Query(ge=1, le=200, description="Rows per page, 1 to 200")]

# Routers carry the full prefix themselves, so a route's own path is its permission's path.
API_PREFIX = "/api/v1"
