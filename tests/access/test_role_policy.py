"""The role policy's overrides (`access.role_policy.load_policy`): a field given replaces the
default, the others stay, and a bad file is refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tobiume.access.role_policy import DEFAULT_POLICY, load_policy


def test_an_override_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"care-provider": {"reads": ["care", "checkup"], "care_teams": true}}')
    table = load_policy(path)
    assert table["care-provider"].reads == {"care", "checkup"}
    assert table["care-provider"].care_teams is True
    assert table["care-provider"].relation == DEFAULT_POLICY["care-provider"].relation
    assert table["hospital"] == DEFAULT_POLICY["hospital"]


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"surgeon": {}}',
        '{"clinic": {"reads": ["gossip"]}}',
        '{"clinic": {"relation": "friendship"}}',
        '{"clinic": {"summary": "yes"}}',
        '{"clinic": {"colour": "blue"}}',
        "{not json",
    ],
)
def test_a_bad_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="Role policy"):
        load_policy(path)
