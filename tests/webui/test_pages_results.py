"""The leadership results page on crafted documents (tests/webui/sample_results.py, the engine replaced through
monkeypatch): verdict banners, plain-language sentences, checks, charts, as-of, errors. Real engine documents are in
test_pages_real.py."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.webui.page_support import make_pilot, make_user, sign_in
from tests.webui.sample_results import sample_document

CALLS: list = []


def _source(**decision):
    def results_document(session, pilot_id, as_of=None, **options):
        CALLS.append((pilot_id, as_of))
        return sample_document(pilot_id, as_of, **decision)

    return results_document


@pytest.fixture
def engine(monkeypatch):
    """Replace the results engine the pages call: `engine(function)`."""

    def use(function):
        monkeypatch.setattr("webui.pages.views.results_document", function)

    return use


@pytest.fixture
def signed_in(app, client, engine):
    CALLS.clear()
    engine(_source())
    make_user(app, "viewer", "director")
    sign_in(client, "director")
    return client


def _page(app, client, path=None, **decision):
    pilot = make_pilot(app)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("webui.pages.views.results_document", _source(**decision))
        response = client.get(path.format(id=pilot.id) if path else f"/pilots/{pilot.id}/results")
    return response, response.get_data(as_text=True)


def test_go_verdict_with_reasons_and_sentences(app, signed_in):
    response, page = _page(app, signed_in)
    assert response.status_code == 200
    assert 'class="verdict verdict-go"' in page
    assert "The change works: roll it out." in page
    assert "past the pre-registered efficacy boundary" in page
    assert (
        "Accuracy went up by 1.4 points (95% interval 0.6 to 2.2 points) in the Treatment group, compared with "
        "Control. That is a clear improvement." in page
    )
    assert "The interval rules out a worsening bigger than the allowed margin of 0.5 points." in page
    assert "Critical error rate went down by 0.10 points (95% interval −0.40 to 0.20 points)" in page
    # Handle time's relative 5% margin, on a control mean of 41.3 s: 2.065 s.
    # The interval is in the estimate's unit; the relative change is its own clause.
    assert (
        "Handle time went up by 0.8 seconds (95% interval −0.3 to 1.9 seconds) in the Treatment group, compared "
        "with Control, a relative change of +1.9%." in page
    )
    assert "margin of 2.06 seconds" in page
    assert "data through 2025-03-23" in page
    assert "provisional" not in page.split("verdict-title")[1].split("</h2>")[0]


@pytest.mark.parametrize(
    ("recommendation", "css", "label"),
    [
        ("no_go", "verdict-no-go", "No-go"),
        ("continue", "verdict-continue", "Keep running"),
        ("invalid", "verdict-invalid", "Invalid: data problem"),
    ],
)
def test_each_verdict_has_its_banner(app, signed_in, recommendation, css, label):
    _, page = _page(app, signed_in, recommendation=recommendation)
    assert f'class="verdict {css}"' in page and label in page


def test_provisional_results_say_so_with_the_minimum_runtime(app, signed_in):
    _, page = _page(app, signed_in, recommendation="continue", provisional=True)
    assert 'class="provisional-tag"' in page
    assert "has not yet reached its minimum runtime of 14 days" in page


def test_checks_are_listed_with_pass_and_fail(app, signed_in):
    _, page = _page(app, signed_in)
    assert "Group sizes match the plan" in page and "(p = 0.62)" in page
    assert "QA audits both groups at the same rate" in page
    assert page.count('<li class="pass">') == 4


def test_srm_without_a_named_check_becomes_one(app, signed_in, engine):
    def source(session, pilot_id, as_of=None, **options):
        document = sample_document(pilot_id)
        document["checks"] = []
        document["srm"] = {"p_value": 0.0002, "ok": False, "counts": {"control": 120, "treatment": 80}}
        return document

    engine(source)
    pilot = make_pilot(app)
    page = signed_in.get(f"/pilots/{pilot.id}/results").get_data(as_text=True)
    assert '<li class="fail">' in page
    assert "Control 120 and Treatment 80 moderators: further from the plan than chance allows" in page
    assert "(p &lt; 0.001)" in page


def test_charts_are_embedded_as_figure_json_and_plotly_is_local(app, signed_in):
    _, page = _page(app, signed_in)
    figures = [json.loads(unescape(raw)) for raw in re.findall(r'data-figure="([^"]*)"', page)]
    # accuracy: over time, by week, arms, segments; two guardrails: three each.
    assert len(figures) == 10
    # Titles are HTML captions (they wrap on a phone), each chart followed by the numbers behind it.
    assert all(not (f["layout"].get("title") or {}).get("text") for f in figures)
    captions = re.findall(r'<figcaption class="chart-title">([^<]*)</figcaption>', page)
    assert len(captions) == 10 and page.count("The numbers behind this chart") == 10
    assert "Accuracy: effect over time (adjusted)" in captions and "Accuracy: effect by segment (raw)" in captions
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and all(src.startswith("/") for src in scripts)
    assert "cdn" not in page.lower()
    assert "Segment results are descriptive" in page


def test_plotly_js_is_served_with_long_caching(app, signed_in):
    _, page = _page(app, signed_in)
    src = re.search(r'<script src="(/assets/plotly-[^"]+)"', page).group(1)
    response = signed_in.get(src)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert b"plotly" in response.get_data()[:2000].lower()
    response.close()


def test_as_of_is_passed_through_and_announced(app, signed_in):
    _, page = _page(app, signed_in, path="/pilots/{id}/results?as_of=2025-03-10")
    assert CALLS[-1][1].isoformat() == "2025-03-10"
    assert "what we knew on 2025-03-10" in page
    assert 'value="2025-03-10"' in page


@pytest.mark.parametrize("as_of", ["last-tuesday", "20250310", "2025-W10-2", "2025-03-10T00:00:00", "2025-02-30"])
def test_bad_as_of_is_a_friendly_400(app, signed_in, as_of):
    response, page = _page(app, signed_in, path=f"/pilots/{{id}}/results?as_of={as_of}")
    assert response.status_code == 400
    assert "as_of must be a date like 2025-03-14" in page


def test_draft_pilot_has_no_results_yet(app, signed_in, engine):
    engine(_source())
    pilot = make_pilot(app, status="draft", plan_hash=None)
    page = signed_in.get(f"/pilots/{pilot.id}/results").get_data(as_text=True)
    assert "has not launched yet" in page
    assert CALLS == []


def test_domain_error_from_the_service_is_shown(app, signed_in, engine):
    from pilots.errors import Conflict

    def source(session, pilot_id, as_of=None, **options):
        raise Conflict("No QA audits have arrived for this pilot yet.")

    engine(source)
    pilot = make_pilot(app)
    page = signed_in.get(f"/pilots/{pilot.id}/results").get_data(as_text=True)
    assert "No QA audits have arrived for this pilot yet." in page


def test_a_crash_in_the_results_service_is_a_friendly_500(app, signed_in, engine):
    def source(session, pilot_id, as_of=None, **options):
        raise RuntimeError("division by zero deep inside")

    engine(source)
    pilot = make_pilot(app)
    response = signed_in.get(f"/pilots/{pilot.id}/results")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "division by zero" not in page
