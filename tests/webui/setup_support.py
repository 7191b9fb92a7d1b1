"""Helpers for the set-up page tests: a signed-in client per role, drafts and running pilots made through the
service layer, CSV files, and posting a page's form with its CSRF token."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pilots import lifecycle, roster
from pilots.models._time import utcnow
from pilots.roster.upload import parse_upload
from pilots.schemas import PilotCreate
from tests.webui.page_support import csrf_token, db, make_user, sign_in

ROLES = ("admin", "pm", "analyst", "viewer")
WRITERS = ("admin", "pm")
READERS = ("analyst", "viewer")
SAMPLES = Path(__file__).resolve().parents[2] / "examples"


def signed_in(app, client, role: str = "pm"):
    """`client` signed in as a new user with `role` (named `<role>-person`)."""
    make_user(app, role, f"{role}-person")
    sign_in(client, f"{role}-person")
    return client


def today():
    return utcnow().date()


OWNER = "pm-person"  # the PM `signed_in(app, client, "pm")` signs in as


def plan(**changes: Any) -> dict[str, Any]:
    """A valid plan starting in three days, with a pre-period from two weeks ago (`draft` registers it as the
    signed-in PM, who then owns it)."""
    start = today() + timedelta(days=3)
    body = {
        "name": "Policy hints",
        "kind": "tool",
        "hypothesis": "Hints raise accuracy.",
        "arms": [{"name": "control"}, {"name": "hints", "display_name": "Policy hints"}],
        "strata": ["site"],
        "seed": 7,
        "metrics": [
            {"name": "accuracy", "role": "primary"},
            {"name": "critical_error_rate", "role": "guardrail", "margin": 0.005},
        ],
        "design": {"looks": 4, "min_days": 14},
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=28)).isoformat(),
        "pre_period_start": (today() - timedelta(days=14)).isoformat(),
    }
    body.update(changes)
    return body


def draft(app, with_roster: bool = True, **changes: Any) -> int:
    """A draft pilot registered through `pilots.lifecycle` (with the sample roster); returns its id."""
    with db(app) as session:
        pilot = lifecycle.create_pilot(session, PilotCreate.model_validate(plan(**changes)), OWNER)
        pilot_id = pilot.id
        if with_roster:
            roster.replace_roster(session, pilot_id, parse_upload(sample("roster.csv"), "text/csv"), OWNER)
    return pilot_id


def running(app, **changes: Any) -> int:
    pilot_id = draft(app, **changes)
    with db(app) as session:
        lifecycle.launch_pilot(session, pilot_id, OWNER)
    return pilot_id


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def roster_rows(text: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.decode())))


def outcomes_csv(moderators: list[str], when: datetime, prefix: str = "a", per_moderator: int = 2) -> bytes:
    """QA outcomes for `moderators` at `when` (UTC), deterministic."""
    lines = ["audit_id,moderator_id,audited_at,correct,critical,handle_time_s"]
    for index, moderator in enumerate(moderators):
        for k in range(per_moderator):
            stamp = (when + timedelta(seconds=index + k)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            correct = "false" if (index + k) % 9 == 0 else "true"
            lines.append(f"{prefix}-{index}-{k},{moderator},{stamp},{correct},false,{40 + (index * 7 + k) % 30}")
    return ("\n".join(lines) + "\n").encode()


def errors_by_field(html: str) -> dict[str, list[str]]:
    """The messages shown under each input: `{input name: [message, ...]}`."""
    found: dict[str, list[str]] = {}
    for name, body in re.findall(r'<ul class="errors" id="([^"]+)-errors">(.*?)</ul>', html, re.S):
        found[name] = [
            re.sub(r"<[^>]+>", "", item).replace("&#39;", "'").strip()
            for item in re.findall(r"<li>(.*?)</li>", body, re.S)
        ]
    return found


def post_form(client, url: str, data: dict[str, Any], **kwargs):
    """GET `url` for its CSRF token, then POST `data` with it."""
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def upload(client, url: str, content: bytes, name: str = "file.csv"):
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
