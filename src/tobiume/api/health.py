"""Liveness and readiness probes: `/healthz` says the process answers, `/readyz` that the
database does too (for load balancers and orchestrators; not FHIR, not audited)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from tobiume.api.state import AppState


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    state: AppState = request.app.state.tobiume
    try:
        await state.database.ping()
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
        )
    return JSONResponse({"status": "ok"})
