"""The project as the API shows it, and the body that creates or replaces one."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from seam_api.core.types import NoNul, trimmed


class ProjectOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id_project: int = Field(serialization_alias="idProject")
    name: str
    description: str | None


class ProjectForm(BaseModel):
    """POST creates a project from it; PUT replaces one's fields with it."""

    name: Annotated[str, trimmed(1, 100), NoNul]
    description: Annotated[str, trimmed(0, 255), NoNul] | None = None
