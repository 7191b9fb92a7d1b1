"""The results pages of the demo as `make run` seeds it (240 moderators, on 2026-12-07) say what their numbers are:
a crossing that waits for the randomization test says so, a kept decision and the latest estimate say which day each
is from, planned group sizes are never rounded against the counts, a check that could not run is not a pass, an
invalid pilot's estimates are not called clear, and numbers read alike in the banner and the body."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest

from pilots.demo import DEMO_PASSWORD, seed_demo
from tests.webui.page_support import make_user, sign_in
from tests.webui.test_api_pilots import launched
from webui.database import sessions
from webui.pages import check_text

TODAY = date(2026, 12, 7)
ASCII_MINUS = re.compile(r"(?<![\w-])-(?=\d)")


@pytest.fixture
def demo(app, client) -> dict[str, int]:
    """The demo seeded through the real services; pilot ids by name; the client signed in as its viewer."""
    with app.app_context():
        factory = sessions()
    summary = seed_demo(factory, today=TODAY)
    sign_in(client, "demo-viewer", DEMO_PASSWORD)
    return {name: pilot_id for pilot_id, name, *_ in summary.pilots}


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def _banner(page: str) -> str:
    banner = page[page.index('<section class="verdict') :]
    return banner[: banner.index("</section>")]


def _metric(page: str, label: str) -> str:
    start = page.index(f">{label}</h2>")
    return page[start : page.index("</section>", start)]


def test_a_crossing_waiting_for_the_randomization_test_says_so(demo, client):
    pilot_id = demo["Weekly calibration sessions"]
    results = client.get(f"/api/v1/pilots/{pilot_id}/results?as_of=2026-11-25").json
    reasons = results["decision"]["reasons"]
    assert results["decision"]["recommendation"] == "continue"
    assert any(
        r.startswith("Accuracy (")
        and "crossed its decision boundary, but the decision waits for the randomization test to confirm the crossing"
        in r
        for r in reasons
    ), reasons
    assert not any("No significant change" in r for r in reasons)
    accuracy = _metric(_page(client, f"/pilots/{pilot_id}/results?as_of=2026-11-25"), "Accuracy")
    assert "the randomization test must confirm the difference before it counts" in accuracy
    assert "clear improvement" not in accuracy


def test_a_kept_decision_and_the_latest_estimate_say_which_day_each_is_from(demo, client):
    pilot_id = demo["Weekly calibration sessions"]
    decision = client.get(f"/api/v1/pilots/{pilot_id}/results").json
    decided_on, through = decision["decision"]["decided_on"], decision["data_through"]
    assert decided_on is not None and decided_on < through
    page = _page(client, f"/pilots/{pilot_id}/results")
    assert f"The reasons below give the figures at the decision on {decided_on}" in _banner(page)
    assert f"Latest, data through {through} (the decision on {decided_on}" in _metric(page, "Accuracy")


def test_planned_sizes_and_checks_that_could_not_run(demo, client):
    page = _page(client, f"/pilots/{demo['Weekly calibration sessions']}/results")
    assert "Control 10 and Calibration 11 teams, against a planned 10.5 each." in page
    blinding = page[page.index("<strong>Auditors grade both groups alike</strong>") :][:400]
    assert "Not run" in blinding and "Passed" not in blinding and "cannot be checked" in blinding


def test_an_invalid_pilot_never_calls_its_estimates_clear(demo, client):
    page = _page(client, f"/pilots/{demo['Auto-translate for non-native queues']}/results")
    assert "Invalid: data problem" in _banner(page)
    assert "That is a clear" not in page
    assert "A data-quality check failed, so this estimate cannot be trusted" in _metric(page, "Accuracy")


def test_numbers_read_alike_in_the_banner_and_the_body(demo, client):
    for name in demo:
        if name == "Policy refresher micro-lessons":  # the draft: no results
            continue
        page = _page(client, f"/pilots/{demo[name]}/results")
        assert not ASCII_MINUS.search(re.sub(r"<[^>]+>", " ", _banner(page))), name
    page = _page(client, f"/pilots/{demo['Context panel for escalations']}/results")
    accuracy = _metric(page, "Accuracy")
    sentence = re.search(r"Accuracy went (?:up|down) by (\S+) points? \(95% interval (\S+) to (\S+) points\)", accuracy)
    raw = re.search(r"the raw difference between the group averages \(the table below\) is (\S+) points", accuracy)
    assert sentence and raw, accuracy[:600]
    decimals = {len(n.split(".")[1]) if "." in n else 0 for n in (*sentence.groups(), raw.group(1))}
    assert decimals == {1}, (sentence.group(0), raw.group(0))


def test_checks_of_a_pilot_without_audits_did_not_run(app, api, session, client):
    pilot = launched(api, session)
    document = api.get(f"/api/v1/pilots/{pilot['id']}/results").json
    repeated = {c["name"]: c for c in document["checks"]}
    for name in ("srm", "audit_coverage", "audit_rate", "attrition"):
        assert repeated[name]["ran"] is False and repeated[name]["reason"] == "no_audits_yet", name
    make_user(app, "viewer")
    sign_in(client, "viewer-person")
    page = _page(client, f"/pilots/{pilot['id']}/results")
    checks = page[page.index("Can we trust the data?") :]
    checks = checks[: checks.index("</section>")]
    assert "Too few moderators" not in checks
    for title in (
        "Group sizes match the plan",
        "QA reaches people in every group",
        "QA audits both groups at the same rate",
        "Moderators are still taking part",
    ):
        row = checks[checks.index(f"<strong>{title}</strong>") :][:300]
        assert "Not run" in row and "Passed" not in row, title
        assert "No QA audits of the pilot period have arrived yet" in row, title
    assert "at launch" in checks[checks.index("<strong>Groups were alike at launch</strong>") :][:300]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"control": 10, "calibration": 11}, "Control 10 and Calibration 11 teams, against a planned 10.5 each."),
        ({"control": 10, "calibration": 10}, "Control 10 and Calibration 10 teams, against a planned 10 each."),
    ],
)
def test_planned_group_sizes_are_not_rounded_against_the_counts(counts, expected):
    srm = {"counts": counts, "weights": {"control": 1, "calibration": 1}, "ok": True}
    names = {"control": "Control", "calibration": "Calibration"}
    assert check_text.group_sizes(srm, names, "team") == expected
