"""The project routes: thin, each parses, calls its operation and wraps the result. `Permitted`
guards a route with its own nameUri (`PUT /api/v1/projects/:idProject`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seam_api.security.access import Permitted
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, PathId
from tests.extending.projects import service
from tests.extending.projects.schemas import ProjectForm, ProjectOut

router = APIRouter(prefix=f"{API_PREFIX}/projects", tags=["projects"])


@router.get(
    "",
    response_model=Envelope[list[ProjectOut]],
    summary="Every project, by idProject",
    operation_id="listProjects",
)
async def list_projects(request: Request, _caller: Permitted) -> Response:
    return ok(await service.list_all(request.app.state.seam))


@router.get(
    "/{idProject}",
    response_model=Envelope[ProjectOut],
    summary="One project",
    operation_id="getProject",
)
async def get_project(request: Request, _caller: Permitted, idProject: PathId) -> Response:
    return ok(await service.get(request.app.state.seam, project_id=idProject))


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ProjectOut],
    summary="Create a project",
    operation_id="createProject",
)
async def create_project(request: Request, _caller: Permitted, body: ProjectForm) -> Response:
    return ok(await service.create(request.app.state.seam, form=body), status=201)


@router.put(
    "/{idProject}",
    response_model=Envelope[ProjectOut],
    summary="Replace a project's name and description",
    operation_id="updateProject",
)
async def update_project(
    request: Request, _caller: Permitted, idProject: PathId, body: ProjectForm
) -> Response:
    seam = request.app.state.seam
    return ok(await service.update(seam, project_id=idProject, form=body))


@router.delete(
    "/{idProject}",
    response_model=Envelope[None],
    summary="Delete a project",
    operation_id="deleteProject",
)
async def delete_project(request: Request, _caller: Permitted, idProject: PathId) -> Response:
    await service.delete(request.app.state.seam, project_id=idProject)
    return ok(None)
