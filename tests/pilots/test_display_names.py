"""Default display names of arms (`pilots.schemas.display_name_of`)."""

from __future__ import annotations

import pytest

from pilots.schemas import display_name_of


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("ai_assist", "AI assist"),
        ("control", "Control"),
        ("new-qa-rubric", "New QA rubric"),
        ("llm__triage_v2", "LLM triage v2"),
        ("aide", "Aide"),  # a word that only starts like an acronym keeps its case
        ("ui", "UI"),
    ],
)
def test_default_display_names_read_as_people_write_them(name: str, shown: str) -> None:
    assert display_name_of(name) == shown
