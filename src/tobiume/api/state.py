"""What the app holds for its lifetime: settings, the database and the token verifier and
the token endpoint's service, with the server's keys (loaded once at start-up; no business data)."""

from __future__ import annotations

from dataclasses import dataclass

from tobiume.auth.grant import TokenService
from tobiume.auth.tokens import TokenVerifier
from tobiume.config import Settings
from tobiume.db import Database


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    database: Database
    verifier: TokenVerifier
    tokens: TokenService
