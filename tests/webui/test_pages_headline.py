"""The verdict as leadership reads it: provisional verdicts never read as final, and a concluded pilot says how it
ended (planned end only when the data reached it, a boundary crossed, or stopped early by a person)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pilots.models import Pilot
from tests.webui.sample_results import sample_document
from webui.pages.headline import Conclusion, headline, list_label


def _pilot(**fields) -> Pilot:
    values = {
        "id": 7,
        "name": "Hints",
        "kind": "tool",
        "owner": "pm",
        "arms": [{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
        "seed": 1,
        "metrics": [],
        "design": {"method": "group_sequential", "min_days": 14},
        "start_date": date(2025, 3, 3),
        "end_date": date(2025, 4, 13),
        "status": "running",
    }
    values.update(fields)
    return Pilot(**values)


def _document(recommendation="go", provisional=False, data_through="2025-03-23", crossing="up", as_of=None):
    document = sample_document(7, None, recommendation=recommendation, provisional=provisional)
    document.update(data_through=data_through, min_days=14, as_of=as_of)
    for metric in document["metrics"]:
        for comparison in metric["comparisons"]:
            comparison["crossing"] = crossing if metric["role"] == "primary" else "none"
    return document


def test_a_provisional_go_says_promising_and_when_to_decide():
    banner = headline(_pilot(), _document(provisional=True, data_through="2025-03-10"))
    assert banner.label == "Go (provisional)"
    # 14 days from 2025-03-03: the minimum runtime is reached with data through 2025-03-16.
    assert banner.summary == "Promising: wait until 2025-03-16 to decide."
    assert "roll it out" not in banner.summary.lower()
    assert banner.provisional and banner.ending is None
    assert list_label("go", True) == ("Go (provisional)", "go provisional")
    assert list_label("go", False) == ("Go", "go")


@pytest.mark.parametrize(
    ("recommendation", "label", "start"),
    [("no_go", "No-go (provisional)", "Looks worse so far"), ("continue", "Keep running", "Too early to tell")],
)
def test_other_provisional_verdicts(recommendation, label, start):
    banner = headline(_pilot(), _document(recommendation, provisional=True, crossing="none"))
    assert banner.label == label and banner.summary.startswith(start) and "2025-03-16" in banner.summary


def test_a_final_go_reads_as_the_engine_says():
    banner = headline(_pilot(), _document())
    assert banner.label == "Go" and banner.summary == "The change works: roll it out."


def test_planned_end_reached_only_when_the_data_reach_the_end_date():
    concluded = _pilot(status="concluded", concluded_at=datetime(2025, 4, 14, 9, 30))
    person = Conclusion(by="pm-lee", at=datetime(2025, 4, 14, 9, 30), rationale="Ran its course.")
    ended = headline(
        concluded, _document(data_through="2025-04-13", crossing="none", recommendation="continue"), person
    )
    assert ended.ending.startswith("Ended at its planned end date (2025-04-13). Concluded by pm-lee on 2025-04-14.")

    early = headline(
        concluded, _document(data_through="2025-03-30", crossing="none", recommendation="continue"), person
    )
    assert "planned end" not in early.ending.split("before")[0]
    assert early.ending.startswith("Stopped early by pm-lee on 2025-04-14 before its planned end (2025-04-13).")
    assert early.ending.endswith("Their note: “Ran its course.”")


def test_a_boundary_crossing_is_named_with_its_review():
    concluded = _pilot(status="concluded", concluded_at=datetime(2025, 3, 24))
    banner = headline(concluded, _document(data_through="2025-03-23"), Conclusion(by="pm-lee", at=None))
    assert banner.ending.startswith("Ended early because Accuracy crossed its decision boundary at the review of")
    assert banner.ending.endswith("Concluded by pm-lee.")


def test_a_running_pilot_past_its_end_waits_for_a_decision():
    banner = headline(_pilot(), _document(data_through="2025-04-13", crossing="none", recommendation="continue"))
    assert "planned end date (2025-04-13) is reached" in banner.ending


def test_as_of_before_the_conclusion_shows_the_pilot_still_running():
    concluded = _pilot(status="concluded", concluded_at=datetime(2025, 4, 1))
    banner = headline(concluded, _document(data_through="2025-03-20", as_of="2025-03-20", crossing="none"))
    assert banner.ending is None
