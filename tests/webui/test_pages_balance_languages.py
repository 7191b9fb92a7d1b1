"""Language codes on the balance page read as language names, with the code kept (the roster file has the code)."""

from __future__ import annotations

from tests.webui.setup_support import running, signed_in
from webui.pages.balance_view import _size, language_words, stratum_words


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


def test_an_smd_is_shown_with_the_digits_that_keep_it_on_its_side_of_the_bar():
    """0.0996 is "alike" (under the 0.1 bar): it must not read "0.10" beside that word."""
    assert [_size(v) for v in (0.0996, -0.09996, 0.1, 0.1234, 0.1996, 0.2, None)] == [
        "0.0996",
        "0.09996",
        "0.10",
        "0.12",
        "0.1996",
        "0.20",
        "n/a",
    ]
