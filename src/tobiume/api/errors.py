"""Exception handlers: every failure leaves as an OperationOutcome
(https://hl7.org/fhir/R4/http.html#2.21.0.8). A `FhirError` carries its own status; a database
conflict between concurrent writers is 409 (retry); anything else is a logged 500 whose body
says nothing of the internals."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from tobiume.api.responses import error_response
from tobiume.db import is_concurrency_failure
from tobiume.errors import Conflict, FhirError

log = logging.getLogger("tobiume")


async def fhir_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    return error_response(exc)


async def database_error(request: Request, exc: Exception) -> Response:
    if is_concurrency_failure(exc):
        return error_response(Conflict("A concurrent change got in the way; retry the request"))
    return await unexpected(request, exc)


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    error = FhirError("Internal server error; the failure has been logged")
    return error_response(error)
