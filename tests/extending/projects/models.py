"""The projects table. In the shipped app it goes into `seam_api/models.py`, on the shared
`metadata`; here it has a MetaData of its own (same naming convention), so the shipped schema,
which other tests compare the database with, stays as it is."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

from seam_api.models import metadata as shipped

metadata = MetaData(naming_convention=shipped.naming_convention)

projects = Table(
    "projects",
    metadata,
    Column("id_project", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("description", String(255), nullable=True),
    sqlite_autoincrement=True,  # a deleted project's id never names another one
)
