"""The one error vocabulary of the server.

Every failure the server reports is a `FhirError`. Each subclass is a *category* that fixes the
HTTP status and the OperationOutcome `issue.code` (https://hl7.org/fhir/R4/valueset-issue-type.html);
the API layer renders any `FhirError` as an OperationOutcome in one handler, so no layer below the
HTTP edge knows about status codes or responses (after Blaze's `blaze.handler.util`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue: what went wrong and, where known, which element (FHIRPath)."""

    diagnostics: str
    code: str | None = None
    severity: str = "error"
    expression: tuple[str, ...] = ()


class FhirError(Exception):
    """Base of every error the server answers with an OperationOutcome."""

    status: int = 500
    code: str = "exception"
    headers: Mapping[str, str] = MappingProxyType({})
    """HTTP headers the answer must carry besides the OperationOutcome (a 401's challenge)."""

    def __init__(
        self, diagnostics: str, *, expression: tuple[str, ...] = (), issues: tuple[Issue, ...] = ()
    ) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.issues: tuple[Issue, ...] = issues or (
            Issue(diagnostics=diagnostics, code=self.code, expression=expression),
        )


class BadRequest(FhirError):
    """The request itself is malformed: bad JSON, bad parameter, bad Bundle shape (400)."""

    status = 400
    code = "invalid"


class Unprocessable(FhirError):
    """A well-formed resource that breaks a rule of the specification or the server (422)."""

    status = 422
    code = "processing"


class InvalidResource(FhirError):
    """The resource does not conform to its structure definition (400, issue code `structure`)."""

    status = 400
    code = "structure"


class NotFound(FhirError):
    """Unknown resource type, id or version, or one the requester may not see (404)."""

    status = 404
    code = "not-found"


class Gone(FhirError):
    """The resource was deleted; its history remains (410)."""

    status = 410
    code = "deleted"


class MethodNotAllowed(FhirError):
    """The interaction is not supported on this path (405)."""

    status = 405
    code = "not-supported"


class Conflict(FhirError):
    """The write collides with the current state, e.g. a concurrent create or update (409)."""

    status = 409
    code = "conflict"


class PreconditionFailed(FhirError):
    """`If-Match` names a version that is no longer current, or conditional criteria match
    several resources (412)."""

    status = 412
    code = "conflict"


class TooLarge(FhirError):
    """The body or a part of it is past a configured bound (413)."""

    status = 413
    code = "too-costly"


class NotAcceptable(FhirError):
    """The client asked for a representation the server does not produce, e.g. XML (406)."""

    status = 406
    code = "not-supported"


class UnsupportedMediaType(FhirError):
    """The client sent a body in a format the server does not read, e.g. XML (415)."""

    status = 415
    code = "not-supported"


class Forbidden(FhirError):
    """The requester is known but may not perform this interaction (403)."""

    status = 403
    code = "forbidden"


class Unauthorized(FhirError):
    """No valid credentials (401), answered with a Bearer challenge (RFC 6750 section 3).

    Every 401 names an `error`, `invalid_token` unless told otherwise, a missing token
    included: RFC 6750 section 3.1 says a request with no credentials SHOULD get no error code,
    but clients and the issue this server follows want to tell every 401 apart by its header,
    and "no token" is a token that is not valid. `diagnostics` doubles as the
    `error_description`, with the characters RFC 6750 section 3 forbids there replaced.
    """

    status = 401
    code = "login"

    def __init__(self, diagnostics: str, *, error: str = "invalid_token") -> None:
        super().__init__(diagnostics)
        self.error = error
        self.headers = MappingProxyType({"WWW-Authenticate": bearer_challenge(error, diagnostics)})


REALM = "tobiume"


def bearer_challenge(error: str, description: str) -> str:
    """`Bearer realm="tobiume", error="...", error_description="..."` (RFC 6750 section 3);
    quotes, backslashes and anything outside printable ASCII become `'` or `?`, and a
    description (which may quote the token's own header) is cut at 200 characters."""
    clean = "".join(
        "'" if ch in '"\\' else ch if " " <= ch <= "~" else "?" for ch in description[:200]
    )
    return f'Bearer realm="{REALM}", error="{error}", error_description="{clean}"'
