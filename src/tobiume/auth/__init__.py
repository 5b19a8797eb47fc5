"""Who is asking: the server's signing keys, the access tokens it issues and verifies
(RFC 7519 JWTs, SMART Backend Services, https://hl7.org/fhir/smart-app-launch/backend-services.html),
the principal a token stands for, and SMART scopes.

It sits beside `access` (which turns a principal into the SQL access predicate) and below
`interactions` and `api`; it imports only `config`, `errors`, `fhir` and `storage`.
"""
