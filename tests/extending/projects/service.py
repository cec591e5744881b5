"""The project operations: each runs as one named operation, in one transaction, recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api import messages
from seam_api.core.errors import NotFound
from seam_api.operations import operation, record, step
from seam_api.ports import Parts
from seam_api.realtime.eventlog import Changes, changes_between
from tests.extending.projects import repository
from tests.extending.projects.messages import MESSAGES
from tests.extending.projects.schemas import ProjectForm, ProjectOut

messages.add(MESSAGES)

# The permission of the projects list: a role without it gets `data:changed` with data null.
PROJECTS_READ = "GET /api/v1/projects"
AUDITED_FIELDS = ("name", "description")


def _changes(before: ProjectOut | None, after: ProjectOut | None) -> Changes:
    return changes_between(
        None if before is None else before.model_dump(),
        None if after is None else after.model_dump(),
        fields=AUDITED_FIELDS,
    )


async def _get_or_raise(conn: AsyncConnection, project_id: int, lock: bool = False) -> ProjectOut:
    row = await repository.get(conn, project_id=project_id, lock=lock)
    if row is None:
        raise NotFound("errors.project_not_found")
    return ProjectOut.model_validate(dict(row))


@operation("project:fetchAll")
async def list_all(seam: Parts) -> list[ProjectOut]:
    async with seam.db.read() as conn:
        return [ProjectOut.model_validate(dict(row)) for row in await repository.list_all(conn)]


@operation("project:fetchOne")
async def get(seam: Parts, *, project_id: int) -> ProjectOut:
    async with seam.db.read() as conn:
        return await _get_or_raise(conn, project_id)


@operation("project:create", data_needs=PROJECTS_READ)
async def create(seam: Parts, *, form: ProjectForm) -> ProjectOut:
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        project_id = await repository.create(conn, values=form.model_dump())
        project = await _get_or_raise(conn, project_id)
        changes = _changes(None, project)
        await record(
            seam, conn, entity="project", entity_id=project_id, changes=changes, result=project
        )
        return project


@operation("project:edit", data_needs=PROJECTS_READ)
async def update(seam: Parts, *, project_id: int, form: ProjectForm) -> ProjectOut:
    async with seam.db.transaction() as conn:
        before = await _get_or_raise(conn, project_id, lock=True)
        step(seam, "saving")
        await repository.update_fields(conn, project_id=project_id, values=form.model_dump())
        project = await _get_or_raise(conn, project_id)
        changes = _changes(before, project)
        await record(
            seam, conn, entity="project", entity_id=project_id, changes=changes, result=project
        )
        return project


@operation("project:delete", data_needs=PROJECTS_READ)
async def delete(seam: Parts, *, project_id: int) -> dict[str, Any]:
    """Returns the deleted id, which is what the `data:changed` event carries."""
    async with seam.db.transaction() as conn:
        before = await _get_or_raise(conn, project_id, lock=True)
        await repository.delete_one(conn, project_id=project_id)
        result = {"idProject": project_id}
        changes = _changes(before, None)
        await record(
            seam, conn, entity="project", entity_id=project_id, changes=changes, result=result
        )
    return result
