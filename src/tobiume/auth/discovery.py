"""SMART discovery: the `.well-known/smart-configuration` document
(https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known) and the
CapabilityStatement's `rest.security`
(https://hl7.org/fhir/smart-app-launch/conformance.html#declaring-support-for-oauth2-endpoints).

This server is an authorization server for SMART Backend Services only
(https://hl7.org/fhir/smart-app-launch/backend-services.html): the client-credentials grant with
a signed JWT assertion (`private_key_jwt`, RS384 or ES384), no user-facing authorization
endpoint. Its scopes are SMART v2's, and v1's as SMART 2.0 asks a server to accept them
(`permission-v1`).
"""

from __future__ import annotations

from typing import Any

from tobiume.auth.endpoints import token_endpoint

SCOPES_SUPPORTED = (
    "system/*.cruds",
    "system/*.rs",
    "user/*.cruds",
    "user/*.rs",
    "patient/*.rs",
)
CAPABILITIES = ("client-confidential-asymmetric", "permission-v2", "permission-v1")
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def smart_configuration(base_url: str) -> dict[str, Any]:
    return {
        "token_endpoint": token_endpoint(base_url),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "capabilities": list(CAPABILITIES),
    }


def rest_security(base_url: str) -> dict[str, Any]:
    """`CapabilityStatement.rest.security`: SMART-on-FHIR, and where its token endpoint is."""
    return {
        "extension": [
            {
                "url": OAUTH_URIS,
                "extension": [{"url": "token", "valueUri": token_endpoint(base_url)}],
            }
        ],
        "service": [
            {
                "coding": [
                    {
                        "system": SECURITY_SERVICE,
                        "code": "SMART-on-FHIR",
                        "display": "SMART-on-FHIR",
                    }
                ],
                "text": "OAuth2 access tokens as SMART Backend Services issue them",
            }
        ],
        "description": "Every interaction but this statement needs an access token "
        "(Authorization: Bearer); its SMART scopes decide what it may do.",
    }
