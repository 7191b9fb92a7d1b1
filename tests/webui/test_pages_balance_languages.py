"""Language codes on the balance page read as language names, with the code kept (the roster file has the code)."""

from __future__ import annotations

from tests.webui.setup_support import running, signed_in
from webui.pages.balance_view import language_words, stratum_words


def test_language_codes_get_their_names_and_keep_the_code():
    assert language_words("de") == "German (de)"
    assert language_words("pt-BR") == "Portuguese (pt-BR)"
    assert language_words("xx") == "xx"  # unknown codes as written
    assert stratum_words("site=Manila|language=tl") == "Manila · Tagalog (tl)"


def test_the_balance_page_names_the_languages(app, client):
    signed_in(app, client, "pm")
    pilot_id = running(app, strata=["site", "language"])
    page = client.get(f"/pilots/{pilot_id}/balance").get_data(as_text=True)
    assert "<td>Manila · Tagalog (tl)</td>" in page and "<td>Manila · English (en)</td>" in page
