"""The audit trail in plain sentences for the admin page (the export keeps the raw fields)."""

from __future__ import annotations

from typing import Any

from webui.pages.wording import event_label


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _token(details: dict[str, Any]) -> str:
    name = f" “{details['name']}”" if details.get("name") else ""
    return f"token {details.get('token_id')}{name}"


def _download(details: dict[str, Any]) -> str:
    what = (
        "the audit trail"
        if details.get("table") == "audit"
        else f"the {details.get('table')} of pilot {details.get('pilot')}"
    )
    dates = ", ".join(
        f"{key.replace('_', ' ')} {details[key]}" for key in ("since", "until", "as_of") if details.get(key)
    )
    return f"Downloaded {what} as {str(details.get('format', '')).upper()}" + (f" ({dates})" if dates else "")


SENTENCES = {
    "auth.signed_in": lambda d: f"Signed in from {d.get('address')}",
    "auth.sign_in_failed": lambda d: f"Failed sign-in from {d.get('address')}",
    "auth.signed_out": lambda d: f"Signed out from {d.get('address')}",
    "token.issued": lambda d: (
        f"Issued {_token(d)} for {d.get('user')}"
        + (f", limited to sending outcomes to pilot {d['pilot']}" if d.get("pilot") else "")
    ),
    "token.revoked": lambda d: f"Revoked {_token(d)} of {d.get('user')}",
    "user.created": lambda d: f"Created user {d.get('name')} as {d.get('role')}",
    "user.role_changed": lambda d: f"Changed {d.get('name')}'s role from {d.get('before')} to {d.get('after')}",
    "user.password_reset": lambda d: (
        f"Set a new password for {d.get('name')} ({_plural(d.get('sessions_ended', 0), 'session')} ended)"
    ),
    "user.deactivated": lambda d: (
        f"Deactivated {d.get('name')} ({_plural(d.get('tokens_revoked', 0), 'token')} "
        f"revoked, {_plural(d.get('sessions_ended', 0), 'session')} ended)"
    ),
    "export.downloaded": _download,
}


def describe(action: str, details: dict[str, Any]) -> str:
    """One sentence for an event; events without a sentence of their own get their label."""
    sentence = SENTENCES.get(action)
    if sentence is None:
        return event_label(action)
    try:
        return sentence(details or {})
    except (KeyError, TypeError, ValueError):  # an older event with other details still reads as its label
        return event_label(action)
