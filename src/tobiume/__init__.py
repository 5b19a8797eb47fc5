"""Tobiume: a FHIR R4 health-information-exchange server (see README.md and DESIGN.md)."""

__version__ = "0.1.0"
