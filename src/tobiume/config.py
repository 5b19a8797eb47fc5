"""Settings, read from the environment with the prefix `TOBIUME_` (pydantic-settings).

Every setting is documented in the README's configuration table; the defaults make `make run`
work on a fresh machine with an embedded SQLite file and nothing else.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Bounds exist so that no input can cost unbounded work."""

    model_config = SettingsConfigDict(env_prefix="TOBIUME_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./tobiume.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///FILE or postgresql+asyncpg://...",
    )
    base_url: str = Field(
        default="http://localhost:8000/fhir",
        description="Public FHIR base URL, used in Location headers, fullUrls and links.",
    )
    auto_migrate: bool | None = Field(
        default=None,
        description="Upgrade the schema at start-up; default: yes on SQLite, no on PostgreSQL.",
    )
    pool_size: int = Field(default=10, ge=1, le=200, description="Database connections kept open.")
    max_body_bytes: int = Field(default=33_554_432, ge=1024, description="Request body limit.")
    max_bundle_entries: int = Field(default=5000, ge=1, description="Entries in one Bundle.")
    max_json_depth: int = Field(default=64, ge=8, description="Nesting depth of a JSON body.")
    max_string_length: int = Field(
        default=1_048_576, ge=1024, description="Characters in one JSON string value."
    )
    max_number_digits: int = Field(
        default=32, ge=16, description="Digits in one JSON number (FHIR decimals are bounded)."
    )
    default_count: int = Field(default=20, ge=1, description="Page size when _count is absent.")
    max_count: int = Field(default=1000, ge=1, description="Largest _count honoured.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins.")
    signing_key_file: Path = Field(
        default=Path("tobiume-signing-keys.json"),
        description="The server's signing keys (a private JWKS), made on first use if absent.",
    )
    token_lifetime_seconds: int = Field(
        default=300,
        ge=30,
        le=86_400,
        description="Lifetime of the access tokens the server issues; also how long a retired "
        "signing key keeps verifying.",
    )
    token_failure_limit: int = Field(
        default=10,
        ge=1,
        description="Failed token requests a client or an address may make within the window "
        "before the token endpoint refuses it outright (429).",
    )
    token_failure_window_seconds: int = Field(
        default=300, ge=1, description="The window over which failed token requests count."
    )
    identity_providers_file: Path | None = Field(
        default=None,
        description="External identity providers whose tokens are accepted (JSON; "
        "see `tobiume.auth.providers`).",
    )
    client_jwks_cache_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long a JWK Set fetched from a URL (a client's, an identity "
        "provider's) is kept.",
    )
    role_policy_file: Path | None = Field(
        default=None,
        description="Overrides of the role policy (JSON; see `tobiume.access.role_policy` "
        "and docs/access.md).",
    )
    emergency_roles: list[str] = Field(
        default_factory=lambda: ["hospital"],
        description="Roles whose tokens with purpose of use ETREAT break the glass.",
    )
    emergency_access_seconds: int = Field(
        default=3600,
        ge=0,
        description="How long after its issue an ETREAT token breaks the glass.",
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
