"""Pages for leadership and analysts, through the Flask test client with each role: the list's search, sort and
filters; the audit trail as sentences; the download pages (links per role, date filters); the self-contained
report; the offline API reference; compressed, versioned assets; and the HTML error pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import brotli
import pytest
from werkzeug.exceptions import Forbidden

from pilots import events
from pilots.models import Pilot
from tests.webui.page_support import db, make_pilot, make_user, sign_in
from tests.webui.sample_results import sample_document

ROLES = ("admin", "pm", "analyst", "viewer")


def _engine(monkeypatch, **decision):
    def results_document(session, pilot_id, as_of=None, **options):
        return sample_document(pilot_id, as_of, **decision)

    for where in ("pilots.results.summary", "webui.pages.views", "webui.pages.report"):
        monkeypatch.setattr(f"{where}.results_document", results_document)


def _client(app, role: str):
    client = app.test_client()
    make_user(app, role, f"{role}-person")
    sign_in(client, f"{role}-person")
    return client


def test_list_search_sort_and_filters(app, monkeypatch):
    _engine(monkeypatch, provisional=True)
    make_pilot(app, name="Policy hints", layer="review-console")
    make_pilot(app, name="Calibration training", kind="training", layer="training", unit="team")
    make_pilot(app, name="Refreshers", kind="training", status="draft", plan_hash=None)
    client = _client(app, "viewer")
    page = client.get("/").get_data(as_text=True)
    assert page.count("Go (provisional)") == 2 and "No results yet" in page
    assert ">Teams<" in page and "review-console" in page
    assert "2025-03-23" in page  # data through, from the results

    names = lambda html: re.findall(r'class="pilot-name"><a [^>]*>([^<]+)</a>', html)  # noqa: E731
    assert names(client.get("/?q=calibration").get_data(as_text=True)) == ["Calibration training"]
    assert names(client.get("/?q=review-console").get_data(as_text=True)) == ["Policy hints"]
    assert names(client.get("/?kind=training&sort=name&order=asc").get_data(as_text=True)) == [
        "Calibration training",
        "Refreshers",
    ]
    assert names(client.get("/?sort=name&order=desc").get_data(as_text=True)) == [
        "Refreshers",
        "Policy hints",
        "Calibration training",
    ]
    assert names(client.get("/?status=draft&kind=training").get_data(as_text=True)) == ["Refreshers"]
    assert "No pilots match this search" in client.get("/?q=nothing-like-this").get_data(as_text=True)
    for bad in ("kind=gadget", "sort=colour", "order=sideways", "status=paused"):
        response = client.get(f"/?{bad}")
        assert response.status_code == 400 and bad.split("=")[0] + " must be one of" in response.get_data(as_text=True)


def test_list_reads_current_results_from_the_cache(app, client, monkeypatch):
    calls = []

    def counting(session, pilot_id, as_of=None, **options):
        calls.append(pilot_id)
        return sample_document(pilot_id)

    monkeypatch.setattr("pilots.results.summary.results_document", counting)
    pilot = make_pilot(app)
    with db(app) as session:
        from pilots.results import cache
        from pilots.results.document import ENGINE_VERSION

        stored = session.get(Pilot, pilot.id)
        document = sample_document(pilot.id, recommendation="no_go")
        cache.store(session, pilot.id, None, stored.data_version, cache.fingerprint(stored, ENGINE_VERSION), document)
    viewer = _client(app, "viewer")
    page = viewer.get("/").get_data(as_text=True)
    assert calls == [] and "No-go" in page  # a current cache entry: nothing computed
    with db(app) as session:
        session.get(Pilot, pilot.id).data_version += 1  # new outcomes make it stale
    viewer.get("/")
    assert calls == [pilot.id]


def test_overview_trail_is_sentences_and_a_conclusion_is_shown(app, monkeypatch):
    pilot = make_pilot(app, status="concluded", concluded_at=datetime(2025, 4, 2, 10, 0, tzinfo=UTC))
    with db(app) as session:
        events.record(session, "pm-lee", "roster.replaced", pilot.id, moderators=1, previous=0)
        events.record(
            session, "pm-lee", "pilot.launched", pilot.id, units=2, moderators_by_arm={"control": 1, "treatment": 1}
        )
        events.record(session, "pm-lee", "outcomes.ingested", pilot.id, accepted=1200, duplicates=3)
        events.record(session, "pm-lee", "pilot.concluded", pilot.id, note="Budget cut.")
    page = _client(app, "viewer").get(f"/pilots/{pilot.id}").get_data(as_text=True)
    assert "pm-lee uploaded a roster of 1 moderator." in page
    assert "pm-lee launched the pilot: 2 moderators randomized (moderators per group: Control 1, Treatment 1)" in page
    assert "pm-lee sent 1,200 QA outcomes (3 duplicates already stored, ignored)." in page
    assert "pm-lee concluded the pilot. Note: “Budget cut.”" in page
    assert "{" not in re.sub(r"<[^>]+>", "", page.split("Audit trail")[1])  # no dicts
    assert "Concluded" in page and "by pm-lee" in page and "Note: Budget cut." in page


def test_results_page_explains_raw_and_adjusted(app, monkeypatch):
    _engine(monkeypatch)
    pilot = make_pilot(app)
    page = _client(app, "viewer").get(f"/pilots/{pilot.id}/results").get_data(as_text=True)
    assert "Raw averages by group (not adjusted)" in page
    assert "Accuracy: effect over time (adjusted)" in page and "Accuracy: effect by week (raw)" in page
    assert re.search(r"the raw difference between the group averages \(the table below\) is [+−]\d", page)
    assert "<noscript>" in page and page.count("The numbers behind this chart") == 10
    assert f'href="/pilots/{pilot.id}/report.html"' in page and 'download="pilot-' in page


@pytest.mark.parametrize("role", ROLES)
def test_download_links_follow_the_role_and_all_work(app, role):
    pilot = make_pilot(app)
    client = _client(app, role)
    page = client.get(f"/pilots/{pilot.id}/exports").get_data(as_text=True)
    links = [link.replace("&amp;", "&") for link in re.findall(r'href="(/api/v1/[^"]+)"', page)]
    keys = {re.search(r"/pilots/\d+/(\w+)\?", link).group(1) for link in links}
    if role == "viewer":
        assert keys == {"balance", "results"}
    else:
        assert keys == {"roster", "assignments", "outcomes", "units", "balance", "results"}
    for link in links:
        if "/results?" in link or "/balance?" in link:
            continue  # need a launched pilot with data; their permissions are checked below
        response = client.get(link)
        assert response.status_code == 200, link
        response.close()
    assert client.get(f"/api/v1/pilots/{pilot.id}/results?format=csv").status_code != 403
    assert 'download="pilot-' in page


def test_date_filters_go_only_to_routes_that_take_them(app):
    pilot = make_pilot(app)
    client = _client(app, "analyst")
    page = client.get(f"/pilots/{pilot.id}/exports?since=2025-03-05&until=2025-03-20&as_of=2025-03-10")
    html = page.get_data(as_text=True).replace("&amp;", "&")
    assert f"/api/v1/pilots/{pilot.id}/outcomes?since=2025-03-05&until=2025-03-20&format=csv" in html
    assert f"/api/v1/pilots/{pilot.id}/results?as_of=2025-03-10&format=json" in html
    assert f"/api/v1/pilots/{pilot.id}/roster?format=csv" in html
    assert f'download="pilot-{pilot.id}-outcomes-since-2025-03-05-until-2025-03-20.csv"' in html
    filtered = client.get(f"/api/v1/pilots/{pilot.id}/outcomes?since=2025-03-05&until=2025-03-20&format=csv")
    assert filtered.status_code == 200
    filtered.close()
    for bad, message in (("since=yesterday", "since must be a date"), ("since=2025-03-09&until=2025-03-01", "since")):
        response = client.get(f"/pilots/{pilot.id}/exports?{bad}")
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_downloads_page_lists_every_pilot(app):
    first = make_pilot(app, name="First pilot")
    second = make_pilot(app, name="Second pilot", status="draft", plan_hash=None)
    page = _client(app, "pm").get("/exports?since=2025-03-05").get_data(as_text=True)
    assert "First pilot" in page and "Second pilot" in page
    assert f"/api/v1/pilots/{first.id}/outcomes?since=2025-03-05" in page.replace("&amp;", "&")
    assert f"/api/v1/pilots/{second.id}/roster" in page and f"/api/v1/pilots/{second.id}/outcomes" not in page


def test_a_results_date_before_a_pilots_start_is_not_linked_for_that_pilot(app):
    """`/exports?as_of=` is typed once for every pilot: a pilot that started after it gets a reason, not a link
    the results route would answer with 422; a pilot that had started gets its link, and the link works."""
    early = make_pilot(app, name="Early pilot")  # starts 2025-03-03
    late = make_pilot(app, name="Late pilot", start_date=date(2025, 4, 1), end_date=date(2025, 5, 12))
    client = _client(app, "analyst")
    html = client.get("/exports?as_of=2025-03-10").get_data(as_text=True).replace("&amp;", "&")
    assert f"/api/v1/pilots/{early.id}/results?as_of=2025-03-10&format=csv" in html
    assert f"/api/v1/pilots/{late.id}/results?" not in html
    assert "Not available as of 2025-03-10: this pilot started on 2025-04-01." in html
    assert client.get(f"/api/v1/pilots/{late.id}/results?as_of=2025-03-10&format=csv").status_code == 422
    single = client.get(f"/pilots/{late.id}/exports?as_of=2025-03-10").get_data(as_text=True)
    assert "this pilot started on 2025-04-01" in single and f"/api/v1/pilots/{late.id}/results?" not in single


def test_a_viewer_sees_no_outcome_date_filters(app):
    pilot = make_pilot(app)
    client = _client(app, "viewer")
    viewer = client.get(f"/pilots/{pilot.id}/exports").get_data(as_text=True)
    assert 'id="as_of"' in viewer
    assert 'id="since"' not in viewer and 'id="until"' not in viewer and "QA outcomes from" not in viewer
    analyst = _client(app, "analyst").get(f"/pilots/{pilot.id}/exports").get_data(as_text=True)
    assert 'id="since"' in analyst and 'id="until"' in analyst and 'id="as_of"' in analyst
    draft = make_pilot(app, status="draft", plan_hash=None)
    page = client.get(f"/pilots/{draft.id}/exports").get_data(as_text=True)
    assert "Date filters for the downloads" not in page  # a viewer of a draft has nothing dated to filter


def test_the_report_is_one_self_contained_file(app, monkeypatch):
    _engine(monkeypatch)
    pilot = make_pilot(app)
    response = _client(app, "viewer").get(f"/pilots/{pilot.id}/report.html?as_of=2025-03-10")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert (
        response.headers["Content-Disposition"] == f'inline; filename="pilot-{pilot.id}-report-as-of-2025-03-10.html"'
    )
    policy = response.headers["Content-Security-Policy"]
    assert (
        "default-src 'none'" in policy
        and "connect-src 'none'" in policy
        and "'unsafe-inline'" not in policy.split("style-src")[0]
    )
    html = response.get_data(as_text=True)
    # Nothing is loaded from anywhere: no src, no stylesheet link, the icon is a data URL.
    assert re.findall(r"<script[^>]+src=", html) == [] and '<link rel="stylesheet"' not in html
    assert re.findall(r'<link[^>]+href="([^"]+)"', html) == ["data:,"]
    assert "<style>" in html and "plotly" in html.lower() and len(html) > 3_000_000
    assert html.count("data-figure=") == 10 and "what was known on 2025-03-10" in html
    assert "@page" in html and "@media print" in html
    assert "The change works: roll it out." in html


def test_report_of_a_draft_and_bad_as_of(app):
    draft = make_pilot(app, status="draft", plan_hash=None)
    client = _client(app, "viewer")
    page = client.get(f"/pilots/{draft.id}/report.html").get_data(as_text=True)
    assert "has not launched yet" in page and "<script>" not in page
    assert client.get(f"/pilots/{draft.id}/report.html?as_of=soon").status_code == 400
    assert client.get("/pilots/99999/report.html").status_code == 404


def test_the_api_reference_is_served_offline_without_sign_in(client):
    page = client.get("/docs/api").get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in page
    sources = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert all(source.startswith("/") for source in sources)
    bundle = next(source for source in sources if "swagger-ui-bundle.js" in source).replace("&amp;", "&")
    response = client.get(bundle, headers={"Accept-Encoding": "br"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    assert b"SwaggerUIBundle" in brotli.decompress(response.get_data())
    assert client.get("/assets/swagger-ui/swagger-ui-bundle.js.map").status_code == 404
    assert client.get("/assets/elsewhere/x.js").status_code == 404


def test_assets_are_compressed_and_cached_by_version(client):
    page = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]+)"', page).group(1)
    response = client.get(css, headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "br" and "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b".verdict" in brotli.decompress(response.get_data())
    gzipped = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    plain = client.get("/static/css/site.css")
    assert "Content-Encoding" not in plain.headers and plain.headers["Cache-Control"] == "no-cache"
    again = client.get(css, headers={"Accept-Encoding": "br", "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/static/../pilots/db.py").status_code == 404


def test_plotly_is_served_compressed(client):
    from flask import url_for

    with client.application.test_request_context():
        src = url_for("plotly_js")
    assert "?v=" in src
    response = client.get(src, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br" and len(response.get_data()) < 1_600_000
    assert response.headers["Cache-Control"].startswith("public, max-age=31536000")


def test_pages_are_compressed(app, monkeypatch):
    _engine(monkeypatch)
    pilot = make_pilot(app)
    response = _client(app, "viewer").get(f"/pilots/{pilot.id}/results", headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert "Results:" in brotli.decompress(response.get_data()).decode()


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/pilots/1/results?as_of=never", 400, "That request did not make sense"),
        ("/test-forbidden", 403, "You do not have access to this"),
        ("/pilots/424242", 404, "Page not found"),
        ("/test-broken", 500, "Something went wrong on our side"),
    ],
)
def test_html_error_pages(app, path, status, title):
    def forbidden():
        raise Forbidden()

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/test-forbidden", "test_forbidden", forbidden)
    app.add_url_rule("/test-broken", "test_broken", broken)
    make_pilot(app)
    client = _client(app, "viewer")
    response = client.get(path)
    assert response.status_code == status and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert title in page and f"Error {status}" in page and "Traceback" not in page


def test_results_csv_has_no_float_noise():
    from pilots.results.export import results_table, tidy

    assert tidy(0.1 + 0.2) == 0.3 and tidy(0.9244712990936556) == 0.9244712991 and tidy(7) == 7 and tidy(None) is None
    document = {
        "pilot_id": 3,
        "data_through": "2025-03-10",
        "as_of": None,
        "decision": {"recommendation": "continue"},
        "metrics": [
            {
                "name": "accuracy",
                "label": "Accuracy",
                "role": "primary",
                "direction": "higher",
                "arms": [{"arm": "control", "units": 4, "audits": 40, "mean": 0.1 + 0.2}],
                "comparisons": [],
            }
        ],
    }
    (row,) = results_table(document).rows()
    assert row["mean"] == 0.3 and repr(row["mean"]) == "0.3"


def test_json_downloads_carry_a_file_name(app, monkeypatch):
    _engine(monkeypatch)
    monkeypatch.setattr(
        "webui.api.results.results_document",
        lambda session, pilot_id, as_of=None, use_cache=True: sample_document(pilot_id, as_of),
    )
    pilot = make_pilot(app)
    client = _client(app, "analyst")
    response = client.get(f"/api/v1/pilots/{pilot.id}/results?as_of=2025-03-10")
    assert (
        response.headers["Content-Disposition"] == f'inline; filename="pilot-{pilot.id}-results-as-of-2025-03-10.json"'
    )
    roster = client.get(f"/api/v1/pilots/{pilot.id}/roster?format=json")
    assert roster.headers["Content-Disposition"] == f'attachment; filename="pilot-{pilot.id}-roster.json"'
    roster.close()


def test_the_report_marks_a_simulated_pilot(app, monkeypatch):
    """Simulated pilots (launched with a past randomization time) carry the badge in the forwarded report too."""
    _engine(monkeypatch)
    simulated, observed = make_pilot(app, simulated=True), make_pilot(app)
    client = _client(app, "viewer")
    assert 'class="simulated-tag"' in client.get(f"/pilots/{simulated.id}/report.html").get_data(as_text=True)
    assert 'class="simulated-tag"' not in client.get(f"/pilots/{observed.id}/report.html").get_data(as_text=True)
