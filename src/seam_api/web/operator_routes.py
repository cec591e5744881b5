"""The operator's routes, outside `/api/v1` and without a user token: liveness, readiness
(for load balancers and orchestrators) and the Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json

from seam_api.core.errors import NotFound, Unauthorized
from seam_api.ops import metrics as ops_metrics
from seam_api.ops.probes import Probes

router = APIRouter(tags=["operations"])
metrics_router = APIRouter()


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]
    failing: list[str]


@router.get(
    "/healthz", response_model=Liveness, summary="The process is alive", operation_id="checkHealth"
)
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database and Redis (when configured) answer; 503 names the one that does not",
    responses={503: {"model": Readiness, "description": "A dependency does not answer"}},
    operation_id="checkReadiness",
)
async def readyz(request: Request) -> Response:
    probes: Probes = request.app.state.probes
    checks = await probes.checks()
    failing = [name for name, answered in checks.items() if not answered]
    body = {
        "status": "unavailable" if failing else "ok",
        "checks": {name: "ok" if answered else "unavailable" for name, answered in checks.items()},
        "failing": failing,
    }
    return Response(
        to_json(body), status_code=503 if failing else 200, media_type="application/json"
    )


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The Prometheus text format, if SEAM_METRICS is `open` or its token is presented."""
    setting = request.app.state.seam.settings.metrics
    if setting == "off":
        raise NotFound("errors.route_not_found", method=request.method, path=request.url.path)
    if setting != "open":
        presented = request.headers.get("authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {setting}".encode()):
            raise Unauthorized("errors.token_invalid")
    body, content_type = ops_metrics.exposition()
    return Response(body, media_type=content_type)
