"""Plain names for what the pages show: arms, languages, segments, roster attributes and counted things.

The data keep stable codes (`ai_assist`, `de`, `tenure_band=24+`, `pre_period_accuracy`); people read "AI assist",
"German", "24 months or more" and "accuracy before the pilot". Every page and the report go through these helpers,
so a code never leaks into a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# ISO 639-1 codes of the languages moderation teams commonly work in; an unknown code is shown as written.
LANGUAGES = {
    "ar": "Arabic",
    "bn": "Bengali",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "ms": "Malay",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "sw": "Swahili",
    "ta": "Tamil",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}

TENURE_BANDS = {
    "<6": "under 6 months",
    "6-12": "6 to 12 months",
    "12-24": "12 to 24 months",
    "24+": "24 months or more",
}
ACCURACY_BANDS = {
    "<0.80": "below 80%",
    "0.80-0.90": "80% to 90%",
    "0.90-0.95": "90% to 95%",
    "0.95+": "95% or more",
}
ATTRIBUTES = {
    "site": "site",
    "language": "language",
    "team": "team",
    "tenure_band": "tenure",
    "tenure_months": "tenure",
    "baseline_accuracy": "baseline accuracy",
    "pre_period_accuracy": "accuracy before the pilot",
}
# Words kept in capitals when an arm code is turned into a name ("ai_assist" -> "AI assist").
ACRONYMS = {"ai", "qa", "ml", "llm", "ui", "ux", "sop", "kb"}


def humanize(code: str) -> str:
    """ "ai_assist" -> "AI assist", "micro_lessons" -> "Micro lessons" (a readable default for an unnamed code)."""
    words = str(code).replace("_", " ").replace("-", " ").split()
    if not words:
        return str(code)
    shown = [word.upper() if word.lower() in ACRONYMS else word for word in words]
    first = shown[0]
    shown[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(shown)


def arm_names(arms: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """Each arm's display name by its code: the plan's `label` when it has one, else the code made readable."""
    names = {}
    for arm in arms or []:
        code = str(arm.get("name", ""))
        names[code] = str(arm.get("label") or arm.get("display_name") or humanize(code))
    return names


def arm_name(names: Mapping[str, str], code: str | None) -> str:
    return names.get(code or "", humanize(code or ""))


def language(code: str) -> str:
    """ "de" -> "German"; codes like "pt-BR" use their first part; anything unknown is returned as written."""
    text = str(code)
    return LANGUAGES.get(text.lower(), LANGUAGES.get(text.split("-")[0].lower(), text))


def level(attribute: str, value: Any) -> str:
    """One level of a roster attribute in words: a language's name, a tenure band's range, a site as written."""
    text = "" if value is None else str(value)
    if attribute == "language":
        return language(text)
    if attribute in ("tenure_band", "tenure_months"):
        return TENURE_BANDS.get(text, text)
    if attribute == "baseline_accuracy":
        return ACCURACY_BANDS.get(text, text)
    return text


def attribute(name: str) -> str:
    """ "pre_period_accuracy" -> "accuracy before the pilot"; unknown attributes are spelled out from their code."""
    return ATTRIBUTES.get(name, str(name).replace("_", " "))


def attribute_level(name: str, value: Any) -> str:
    """ "language German", "tenure 24 months or more", "accuracy before the pilot" (no level for numeric ones)."""
    if value in (None, ""):
        return attribute(name)
    return f"{attribute(name)} {level(name, value)}"


def segment(name: str, value: Any) -> str:
    """ "Site: Dublin", "Language: German", "Tenure: 24 months or more"."""
    return f"{attribute(name).capitalize()}: {level(name, value)}"


SEGMENT_ORDER = ("site", "language", "tenure_band")


def segment_order(row: Mapping[str, Any]) -> tuple[int, int, str]:
    """Sort key for segment rows: site, language, tenure; tenure bands shortest first, other levels by name."""
    name = str(row.get("segment", ""))
    value = str(row.get("level", ""))
    group = SEGMENT_ORDER.index(name) if name in SEGMENT_ORDER else len(SEGMENT_ORDER)
    bands = list(TENURE_BANDS) if name == "tenure_band" else []
    return group, bands.index(value) if value in bands else len(bands), level(name, value)


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 team", "3 teams", "1,204 moderators"."""
    word = singular if n == 1 else (plural or singular + "s")
    return f"{n:,} {word}"


def unit_words(unit: str | None) -> tuple[str, str]:
    """The randomized unit as (singular, plural): teams for team pilots, moderators otherwise."""
    return ("team", "teams") if unit == "team" else ("moderator", "moderators")


def join(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
