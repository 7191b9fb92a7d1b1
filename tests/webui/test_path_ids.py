"""Path ids are canonical ASCII decimals: other digits, leading zeros and signs are 404s, on the API and the pages."""

from __future__ import annotations

import pytest

from tests.pilots.ingestion_support import make_pilot

SPELLINGS = {
    "arabic-indic digits": lambda n: str(n).translate({ord(d): 0x0660 + int(d) for d in "0123456789"}),
    "fullwidth digits": lambda n: str(n).translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}),
    "devanagari digits": lambda n: str(n).translate({ord(d): 0x0966 + int(d) for d in "0123456789"}),
    "leading zero": lambda n: f"0{n}",
    "plus sign": lambda n: f"+{n}",
    "decimal point": lambda n: f"{n}.0",
    "underscore": lambda n: f"{n}_0",
}


@pytest.fixture
def pilot(session) -> int:
    return make_pilot(session)


@pytest.mark.parametrize("spell", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_api_refuses_non_canonical_ids(api, pilot, spell):
    assert api.get(f"/api/v1/pilots/{pilot}/roster").status_code == 200
    for path in (f"/api/v1/pilots/{spell(pilot)}", f"/api/v1/pilots/{spell(pilot)}/roster"):
        response = api.get(path)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found", path
    assert api.get("/api/v1/pilots/0").status_code == 404


@pytest.mark.parametrize("spell", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_pages_refuse_non_canonical_ids(app, client, pilot, spell):
    from tests.webui.page_support import make_user, sign_in

    make_user(app, "viewer", "reader")
    sign_in(client, "reader")
    assert client.get(f"/pilots/{pilot}").status_code == 200
    assert client.get(f"/pilots/{spell(pilot)}").status_code == 404
