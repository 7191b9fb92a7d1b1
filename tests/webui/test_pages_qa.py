"""The QA-domain sections of the results page and the report on the demo's real QA pilots (a pilot that hurts a
pre-registered critical policy, one whose QA routing sends the new tool's audits to lenient auditors), and on
crafted documents without QA data: no policy or queue, no named auditor, nothing double-audited."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

import pytest

from pilots.demo import DEMO_PASSWORD, seed_demo
from pilots.models import Pilot
from tests.webui.page_support import db, make_pilot, make_user, sign_in
from tests.webui.sample_results import sample_document
from webui.database import sessions
from webui.pages.qa_health_view import measurement
from webui.pages.qa_view import cell_table
from webui.pages.report import content_security_policy

TODAY = date(2026, 11, 25)


def _figures(page: str) -> dict[str, dict]:
    """The page's chart figures by element id."""
    found = re.findall(r'id="([^"]+)" data-figure="([^"]*)"', page)
    return {dom_id: json.loads(unescape(raw)) for dom_id, raw in found}


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def qa_pilots(app, client):
    """The demo's QA pilots, the client signed in as its viewer. 240 moderators, as `make demo` seeds: the policy
    harm is then clear enough for a no-go (with 60 it is still pending)."""
    with app.app_context():
        factory = sessions()
    summary = seed_demo(factory, today=TODAY, moderators=240)
    sign_in(client, "demo-viewer", DEMO_PASSWORD)
    with db(app) as session:
        pilots = {session.get(Pilot, pilot_id).name: pilot_id for pilot_id, *_ in summary.pilots}
    return {
        "skewed": pilots["Auto-translate for non-native queues"],
        "harm": pilots["Context panel for escalations"],
    }


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_policy_harm_reads_as_the_reason_for_the_no_go(qa_pilots, client):
    page = _get(client, f"/pilots/{qa_pilots['harm']}/results")
    text = _text(page)
    assert 'class="verdict verdict-no-go' in page
    assert "Why: a policy registered as critical before launch got worse beyond its agreed margin" in text
    assert "(Accuracy in Violent extremism)" in text
    assert "Accuracy got worse in Violent extremism by more than the 1 point agreed before launch." in text
    assert "This critical policy alone makes the verdict a no-go." in text
    # The engine's reason keeps its numbers, with the policy code in plain words.
    assert "Accuracy in the Violent extremism policy got worse beyond its guardrail" in text
    assert "'violent_extremism'" not in page
    assert "Where it helps, where it hurts" in text
    assert "Registered: Violent extremism." in text
    _forest_marks_the_critical_policy(page)
    _report_carries_the_sections(client, qa_pilots["harm"])


def _forest_marks_the_critical_policy(page: str) -> None:
    figures = _figures(page)
    forest = figures["chart-0-by-policy"]
    rows = [label for trace in forest["data"] for label in trace["y"]]
    assert "★ Violent extremism" in rows
    margin = next(trace for trace in forest["data"] if trace["name"].startswith("★ critical policy"))
    assert margin["x"] == [pytest.approx(-1.0)] and margin["y"] == ["★ Violent extremism"]
    worse = next(trace for trace in forest["data"] if trace["name"].startswith("worse"))
    assert "★ Violent extremism" in worse["y"]
    assert forest["layout"]["xaxis"]["title"]["text"] == "Difference (points)"
    assert any(shape["x0"] == 0 for shape in forest["layout"]["shapes"])  # the zero line
    assert "chart-0-by-queue" in figures
    # The numbers behind the chart, without JavaScript: a row per policy with its reading.
    table = page.split('id="chart-0-by-policy"')[1].split("</details>")[0]
    assert "★ Violent extremism" in table and "<td>worse</td>" in table and "False-discovery q" in table
    text = _text(page)
    assert "The effect really does differ between policies" in text and "Cochran's Q = " in text


def test_skewed_auditors_invalidate_and_the_adjusted_estimate_disagrees(qa_pilots, client):
    page = _get(client, f"/pilots/{qa_pilots['skewed']}/results")
    text = _text(page)
    assert 'class="verdict verdict-invalid' in page
    assert "QA auditors were assigned alike Failed" in text
    assert "Sensitivity check: with auditor leniency removed" in text
    assert "As measured" in text and "Each auditor's leniency removed" in text
    assert "they do not say whether the change is significant: the verdict does" in text
    assert "The two disagree." in text and "which auditors graded each group" in text
    assert "QA health: can the grading be trusted?" in text
    assert re.search(r"Two auditors who graded the same decision agreed \d+% of the time", text)
    assert "Gwet's AC1" in text and "Krippendorff's alpha" in text
    section = page.split('id="qa-health-title"')[1]
    assert "Moderators in Auto translate" in section and "Moderators in Control" in section
    assert "Agreement by auditor pair (" in section and " &amp; " in section
    leniency = _figures(page)["chart-qa-leniency"]
    assert leniency["layout"]["xaxis"]["title"]["text"] == "Leniency (points of accuracy)"
    auditors = {label for trace in leniency["data"] for label in trace["y"]}
    assert len(auditors) >= 4 and all(name.startswith("qa-") for name in auditors)
    assert "Leniency (points)" in section and "What the grading noise costs" in text
    assert "Agreement (Gwet's AC1, Krippendorff's alpha)" in text  # the glossary explains the QA terms
    assert re.search(r"Grading noise: \d+% of a single grade's variance and \d+% of a moderator's measured", text)
    assert re.search(r"Minimum detectable effect \(fixed horizon\): [\d.]+ points, [\d.]+ points without", text)


def _report_carries_the_sections(client, pilot_id: int) -> None:
    response = client.get(f"/pilots/{pilot_id}/report.html")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == content_security_policy()
    html = response.get_data(as_text=True)
    text = _text(html)
    assert "Where it helps, where it hurts" in text and "QA health: can the grading be trusted?" in text
    assert "This critical policy alone makes the verdict a no-go." in text
    assert "chart-0-by-policy" in html and "chart-qa-leniency" in html
    # Still only the two hashed inline scripts, and the numbers open for print.
    assert len(re.findall(r"<script>", html)) == 2 and re.findall(r"<script[^>]+src=", html) == []
    assert '<details class="chart-numbers" open>' in html.split('id="chart-0-by-policy"')[1].split("</summary>")[0]


def _no_qa(session, pilot_id, as_of=None, **options):
    document = sample_document(pilot_id, as_of)
    for metric in document["metrics"]:
        metric.update(by_policy=[], by_queue=[], by_policy_heterogeneity=[], by_queue_heterogeneity=[])
        metric.update(policy_note=None, critical_policies=[])
        for comparison in metric["comparisons"]:
            comparison["auditor_adjusted"] = None
    document["qa_health"] = {
        "agreement": None,
        "agreement_reason": "No item was audited by two different auditors, so auditor agreement is unknown.",
        "auditors": [],
        # No "measurement": the section must not need it.
    }
    return document


def _small_cells(session, pilot_id, as_of=None, **options):
    document = _no_qa(session, pilot_id, as_of)
    accuracy = document["metrics"][0]
    small = {
        "units": 6,
        "audits": 9,
        "difference": None,
        "ci": None,
        "p_value": None,
        "q_value": None,
        "reason": "small_cell",
        "message": "Too few moderators or audits in this cell for an interval; shown for completeness only.",
    }
    accuracy["by_policy"] = [
        {
            "value": "spam",
            "arm": "treatment",
            "units": 80,
            "audits": 900,
            "difference": 0.012,
            "ci": [0.002, 0.022],
            "p_value": 0.02,
            "q_value": 0.04,
            "reason": None,
            "message": None,
        },
        {
            "value": "hate_speech",
            "arm": "treatment",
            "units": 80,
            "audits": 700,
            "difference": -0.01,
            "ci": [-0.019, -0.001],
            "p_value": 0.03,
            "q_value": 0.3,
            "reason": None,
            "message": None,
        },
        {"value": "self_harm", "arm": "treatment", **small},
    ]
    handle_time = next(m for m in document["metrics"] if m["name"] == "handle_time")
    handle_time["comparisons"][0]["auditor_adjusted"] = {
        "difference": None,
        "ci": None,
        "message": "This metric is not a grade given by an auditor, so auditor leniency does not affect it.",
    }
    accuracy["by_policy_heterogeneity"] = [
        {"arm": "treatment", "q": None, "df": 0, "p_value": None, "i_squared": None, "reason": "too_few_segments"}
    ]
    return document


@pytest.fixture
def viewer(app, client, monkeypatch):
    make_user(app, "viewer", "director")
    sign_in(client, "director")

    def use(function):
        monkeypatch.setattr("webui.pages.views.results_document", function)
        monkeypatch.setattr("webui.pages.report.results_document", function)

    return use


def test_no_qa_data_degrades_to_plain_statements(app, client, viewer):
    viewer(_no_qa)
    pilot = make_pilot(app)
    page = _get(client, f"/pilots/{pilot.id}/results")
    text = _text(page)
    assert "Where it helps, where it hurts" not in text and "Sensitivity check" not in text
    assert "Nothing was double-audited, so we cannot tell how consistently auditors grade." in text
    assert "No item was audited by two different auditors" in text
    assert "No audit names its auditor, so auditors cannot be compared." in text
    assert "chart-qa-leniency" not in page
    assert "Not known for this pilot: it needs double-audited items." in text
    report = _get(client, f"/pilots/{pilot.id}/report.html")
    assert "Nothing was double-audited" in _text(report)


def test_documents_without_qa_fields_show_no_qa_sections(app, client, viewer):
    viewer(lambda session, pilot_id, as_of=None, **options: sample_document(pilot_id, as_of))
    pilot = make_pilot(app)
    page = _get(client, f"/pilots/{pilot.id}/results")
    assert "QA health" not in page and "Where it helps" not in page and "Sensitivity check" not in page


def test_small_cells_keep_their_row_with_the_reason(app, client, viewer):
    viewer(_small_cells)
    pilot = make_pilot(app)
    page = _get(client, f"/pilots/{pilot.id}/results")
    forest = _figures(page)["chart-0-by-policy"]
    text_trace = next(trace for trace in forest["data"] if trace.get("mode") == "text")
    assert text_trace["y"] == ["Self harm"] and text_trace["text"] == ["  too little data"]
    assert "Too few moderators or audits" in text_trace["customdata"][0]
    table = _text(page.split('id="chart-0-by-policy"')[1].split("</details>")[0])
    assert "Self harm 6 9 – – – too little data: Too few moderators or audits in this cell" in table
    assert "Spam 80 900 +1.2 +0.2 to +2.2 q = 0.04 better" in table
    assert "Hate speech 80 700 −1.0 −1.9 to −0.1 q = 0.30 worse, but may be chance among this many cells" in table
    text = _text(page)
    assert "Too few policies have an estimate to tell whether the effect differs between them." in text
    assert "1 cell has too little data for an estimate; it is listed last." in text
    # Handle time is not an auditor's grade: one quiet line instead of a second estimate.
    assert "Auditor leniency: This metric is not a grade given by an auditor" in text
    assert text.count("Sensitivity check") == 0


def test_the_noise_cost_shows_whatever_numbers_the_document_has():
    full = {
        "error_share": 0.34,
        "grade_error_share": 0.51,
        "mde_ratio": 1.13,
        "mde": 0.021,
        "mde_without_noise": 0.0186,
        "message": "Auditor disagreement is 51% of a single grade's variance.",
    }
    text, technical = measurement({"measurement": full})
    assert text == full["message"]
    assert technical == (
        "Grading noise: 51% of a single grade's variance and 34% of a moderator's measured accuracy. "
        "Minimum detectable effect (fixed horizon): 2.10 points, 1.86 points without the noise (× 1.13)."
    )
    older = measurement({"measurement": {"error_share": 0.38, "mde_ratio": 1.27, "message": "Older."}})
    assert older == (
        "Older.",
        "Grading noise: 38% of a moderator's measured accuracy. Minimum detectable effect "
        "(× 1.27) against error-free grading.",
    )
    assert measurement({"measurement": {"error_share": None, "message": "Cannot be sized."}}) == (
        "Cannot be sized.",
        None,
    )
    assert measurement({}) == (None, None)


def test_team_pilots_count_teams_in_the_cell_table():
    metric = _small_cells(None, 1)["metrics"][0]
    table = cell_table(metric, "policy", {"treatment": "Treatment"}, "teams")
    assert table.columns[:3] == ("Policy", "Teams", "Audits") and table.text_columns == frozenset({6})  # "Reading"
