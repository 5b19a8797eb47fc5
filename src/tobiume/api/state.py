"""What the app holds for its lifetime: settings and the database (no business data)."""

from __future__ import annotations

from dataclasses import dataclass

from tobiume.config import Settings
from tobiume.db import Database


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    database: Database
