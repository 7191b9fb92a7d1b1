"""`?as_of=` on the results route is a date written YYYY-MM-DD exactly; the results page answers a friendly 4xx."""

from __future__ import annotations

import pytest

from tests.webui.page_support import make_user, sign_in
from tests.webui.test_api_results import _pilot

NOT_A_DAY = [
    "2026-03-10T00:00:00",
    "2026-03-10T00:00:00Z",
    "2026-03-10 00:00",
    "20260310",
    "2026-W11-2",
    "2026-069",
    "1773100800",
    "2026-3-10",
    "%202026-03-10",
    "2026-03-10%0A",
    "2026-02-30",
    "",
]


@pytest.fixture
def pilot_id(session) -> int:
    return _pilot(session)


@pytest.mark.parametrize("value", NOT_A_DAY)
def test_results_as_of_must_be_a_plain_date(api, pilot_id, value):
    response = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?as_of={value}")
    assert response.status_code == 422, (value, response.json)
    assert [d["field"] for d in response.json["error"]["details"]] == ["as_of"]


def test_results_as_of_accepts_a_day(api, pilot_id):
    response = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?as_of=2026-03-10")
    assert response.status_code == 200 and response.json["as_of"] == "2026-03-10"
    csv = api.as_("analyst").get(f"/api/v1/pilots/{pilot_id}/results?as_of=2026-03-10T00:00:00&format=csv")
    assert csv.status_code == 422


@pytest.mark.parametrize("value", ["2026-03-10T00:00:00", "2026-03-10%0A", "%00", "9" * 40, "2026-02-30"])
def test_results_page_answers_a_friendly_4xx_for_a_bad_as_of(app, client, pilot_id, value):
    make_user(app, "viewer")
    sign_in(client, "viewer-person")
    response = client.get(f"/pilots/{pilot_id}/results?as_of={value}")
    assert response.status_code in (400, 422), (value, response.status_code)
    assert "as_of" in response.get_data(as_text=True)
