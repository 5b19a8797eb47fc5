"""OperationOutcome construction (https://hl7.org/fhir/R4/operationoutcome.html)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tobiume.errors import Issue


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource with one `issue` per given issue."""
    rendered: list[dict[str, Any]] = []
    for issue in issues:
        item: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code or "processing",
            "diagnostics": issue.diagnostics,
        }
        if issue.expression:
            item["expression"] = list(issue.expression)
        rendered.append(item)
    if not rendered:
        rendered.append(
            {"severity": "information", "code": "informational", "diagnostics": "All OK"}
        )
    return {"resourceType": "OperationOutcome", "issue": rendered}


def information(diagnostics: str) -> Issue:
    return Issue(diagnostics=diagnostics, code="informational", severity="information")
