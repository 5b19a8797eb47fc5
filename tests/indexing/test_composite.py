"""Composite index rows (https://hl7.org/fhir/R4/search.html#composite): one row per element
and combination of its components' values, in the slots `idx_composite` has for them."""

from __future__ import annotations

import json

from tests.conftest import SHARED
from tobiume.fhir.searchparams import registry
from tobiume.indexing.composite import components
from tobiume.indexing.extract import extract
from tobiume.indexing.rows import CompositeRow
from tobiume.storage.tables import idx_composite, value_columns


def test_row_fields_are_the_table_columns_in_order() -> None:
    names = list(CompositeRow._fields)
    assert names == [c.name for c in value_columns(idx_composite)]
    row = CompositeRow("p", code1="c", quantity=1.0)
    assert row.values() == tuple(getattr(row, name) for name in names)


def test_every_r4_composite_has_a_slot_for_each_component() -> None:
    composites = {
        (res_type, code): param
        for res_type in registry().all_types()
        for code, param in registry().for_type(res_type).items()
        if param.type == "composite"
    }
    assert len(composites) > 40
    for key, param in composites.items():
        parts = components(param)
        assert parts is not None, key
        assert len({part.fields for part in parts}) == len(parts), key


def test_blood_pressure_rows_pair_each_code_with_its_own_value() -> None:
    path = SHARED / "fhir-r4" / "examples" / "Observation-blood-pressure.json"
    rows = extract(json.loads(path.read_text()))
    pairs = {
        (r.param, r.system1, r.code1, r.quantity)
        for r in rows.composites
        if r.param == "component-code-value-quantity"
    }
    assert pairs == {
        ("component-code-value-quantity", "http://loinc.org", "8480-6", 107.0),
        ("component-code-value-quantity", "http://snomed.info/sct", "271649006", 107.0),
        ("component-code-value-quantity", "http://acme.org/devices/clinical-codes", "bp-s", 107.0),
        ("component-code-value-quantity", "http://loinc.org", "8462-4", 60.0),
    }
    assert not [r for r in rows.composites if r.param == "code-value-quantity"]


def test_a_range_value_gives_a_row_for_each_end() -> None:
    library = {
        "resourceType": "Library",
        "status": "active",
        "type": {"coding": [{"code": "logic-library"}]},
        "useContext": [
            {
                "code": {"system": "urn:ctx", "code": "age"},
                "valueRange": {"low": {"value": 18}, "high": {"value": 65}},
            }
        ],
    }
    rows = [r for r in extract(library).composites if r.param == "context-type-quantity"]
    assert {(r.code1, r.quantity) for r in rows} == {("age", 18.0), ("age", 65.0)}
