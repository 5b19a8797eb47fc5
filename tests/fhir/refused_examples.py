"""Official R4 examples the server refuses, each with the rule of the specification it breaks.

`tests/e2e/test_official_examples.py` PUTs every example in `../shared/fhir-r4/examples/` and
expects a 400/422 for exactly these; every other example must round-trip.
"""

from __future__ import annotations

REFUSED: dict[str, str] = {
    "Questionnaire-qs1.json": (
        "Nested items have no linkId, which Questionnaire.item.linkId requires (1..1, "
        "https://hl7.org/fhir/R4/questionnaire-definitions.html#Questionnaire.item.linkId)"
    ),
}
