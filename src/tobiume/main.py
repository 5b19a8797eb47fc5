"""The application factory: FastAPI for the edge, the FHIR API under `/fhir`, probes at the root.

The FHIR routes are plain Starlette routes into `api.fhir_endpoint.handle` (the router below it
decides the interaction), which keeps per-request overhead low; their OpenAPI document comes
from the CapabilityStatement (`api.openapi`), not from FastAPI's introspection.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import DBAPIError
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from tobiume.api import errors, fhir_endpoint, health
from tobiume.api.openapi import openapi_document
from tobiume.api.state import AppState
from tobiume.config import Settings, get_settings
from tobiume.db import Database
from tobiume.errors import FhirError
from tobiume.fhir.json import dumpb
from tobiume.storage.migrate import upgrade

FHIR_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url, pool_size=settings.pool_size)
        if settings.should_auto_migrate:
            await upgrade(database.engine)
        app.state.tobiume = AppState(settings, database)
        try:
            yield
        finally:
            await database.dispose()

    app = FastAPI(
        title="Tobiume FHIR server",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(FhirError, errors.fhir_error)
    app.add_exception_handler(DBAPIError, errors.database_error)
    app.add_exception_handler(Exception, errors.unexpected)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=FHIR_METHODS,
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "Last-Modified"],
        )
    app.add_route("/healthz", health.healthz, methods=["GET"])
    app.add_route("/readyz", health.readyz, methods=["GET"])
    app.add_route("/fhir", fhir_endpoint.handle, methods=FHIR_METHODS)
    app.add_route("/fhir/{path:path}", fhir_endpoint.handle, methods=FHIR_METHODS)

    async def openapi_json() -> Response:
        return Response(dumpb(openapi_document()), media_type="application/json")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Tobiume FHIR API")

    app.add_api_route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
    logging.getLogger("tobiume").setLevel(logging.INFO)
    return app
