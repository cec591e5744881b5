"""The projects' messages, every locale with the same keys. In the shipped app they go into
`seam_api/messages/en.py` and `es.py`; a resource kept outside the package hands them to
`seam_api.messages.add` (service.py does)."""

from __future__ import annotations

MESSAGES = {
    "en": {
        "errors.project_not_found": "Project not found",
        "project:fetchAll.start": "Loading projects...",
        "project:fetchAll.success": "Projects loaded",
        "project:fetchOne.start": "Loading the project...",
        "project:fetchOne.success": "Project loaded",
        "project:create.start": "Creating project...",
        "project:create.saving": "Saving the project...",
        "project:create.success": "Project created successfully",
        "project:edit.start": "Updating project...",
        "project:edit.saving": "Saving changes...",
        "project:edit.success": "Project updated successfully",
        "project:delete.start": "Deleting project...",
        "project:delete.success": "Project deleted successfully",
    },
    "es": {
        "errors.project_not_found": "Proyecto no encontrado",
        "project:fetchAll.start": "Cargando proyectos...",
        "project:fetchAll.success": "Proyectos cargados",
        "project:fetchOne.start": "Cargando el proyecto...",
        "project:fetchOne.success": "Proyecto cargado",
        "project:create.start": "Creando proyecto...",
        "project:create.saving": "Guardando el proyecto...",
        "project:create.success": "Proyecto creado correctamente",
        "project:edit.start": "Actualizando proyecto...",
        "project:edit.saving": "Guardando cambios...",
        "project:edit.success": "Proyecto actualizado correctamente",
        "project:delete.start": "Eliminando proyecto...",
        "project:delete.success": "Proyecto eliminado correctamente",
    },
}
