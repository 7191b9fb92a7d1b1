"""Identifiers through the API on the configured database: a NUL or a bidirectional override is a 422 naming row and
field (PostgreSQL used to answer 500 on NUL), and look-alike spellings of one moderator are one moderator."""

from __future__ import annotations

import pytest

from tests.pilots._roster_factories import make_pilot
from tests.pilots.ingestion_support import audit
from tests.pilots.ingestion_support import make_pilot as make_running_pilot


@pytest.fixture
def draft(session) -> int:
    pilot = make_pilot(session)
    session.commit()
    return pilot.id


@pytest.mark.parametrize("value", ["m\x00", "m\u202e2", "m\u200b2"])
@pytest.mark.parametrize("content_type", ["json", "csv"])
def test_roster_refuses_invisible_characters(api, draft, value, content_type):
    if content_type == "json":
        body = {"json": {"moderators": [{"moderator_id": "m1"}, {"moderator_id": "m2", "team": value}]}}
    else:
        text = f"moderator_id,team,site,language,tenure_months\nm1,,,,\nm2,{value},,,\n"
        body = {"data": text.encode(), "headers": {"Content-Type": "text/csv"}}
    response = api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", **body)
    assert response.status_code == 422, response.json
    assert [(p["row"], p["field"]) for p in response.json["error"]["details"]] == [(2, "team")]
    assert api.get(f"/api/v1/pilots/{draft}/roster").json["moderators"] == []


def test_look_alike_moderators_are_one(api, draft):
    spellings = ["jos\u00e9", "jose\u0301"]
    response = api.as_("pm").put(
        f"/api/v1/pilots/{draft}/roster", json={"moderators": [{"moderator_id": s} for s in spellings]}
    )
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["row"] == 2


def test_outcome_with_nul_is_422_and_decomposed_moderator_matches(api, session):
    pilot = make_running_pilot(session, moderators=("jos\u00e9", "m02"))
    bad = api.post(f"/api/v1/pilots/{pilot}/outcomes", json={"outcomes": [audit("a\x00", moderator_id="m02")]})
    assert bad.status_code == 422
    assert [(p["row"], p["field"]) for p in bad.json["error"]["details"]] == [(1, "audit_id")]
    good = api.post(f"/api/v1/pilots/{pilot}/outcomes", json={"outcomes": [audit("a1", moderator_id="jose\u0301")]})
    assert good.status_code == 200 and good.json == {"accepted": 1, "duplicates": 0}
    (row,) = api.get(f"/api/v1/pilots/{pilot}/outcomes").json["outcomes"]
    assert row["moderator_id"] == "jos\u00e9"
