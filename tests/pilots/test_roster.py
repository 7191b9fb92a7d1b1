"""Roster uploads: validation of JSON and CSV, replacement while draft, idempotent late joiners, exports."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from pilots.assignment.randomization import randomize
from pilots.errors import Conflict, NotFound, ValidationFailed
from pilots.events import history
from pilots.exports.table import csv_chunks
from pilots.models import RosterEntry
from pilots.roster import add_late_joiners, assignment_table, replace_roster, roster_table
from pilots.roster.upload import RosterRow, parse_upload
from tests.pilots._roster_factories import make_pilot, moderators

HEADER = "moderator_id,team,site,language,tenure_months,baseline_accuracy,shift\n"


def _json(rows) -> bytes:
    return json.dumps({"moderators": rows}).encode()


def _problems(body: bytes, content_type: str = "application/json") -> list[tuple]:
    with pytest.raises(ValidationFailed) as error:
        parse_upload(body, content_type)
    return [(d["row"], d["field"]) for d in error.value.details]


def test_csv_and_json_give_the_same_rows():
    csv_body = (HEADER + "m1,t1,Manila,en,14,0.93,night\nm2,t2,Dublin,,,,\n").encode()
    json_body = _json(
        [
            {"moderator_id": "m1", "team": "t1", "site": "Manila", "language": "en", "tenure_months": 14,
             "baseline_accuracy": 0.93, "shift": "night"},
            {"moderator_id": "m2", "team": "t2", "site": "Dublin"},
        ]
    )  # fmt: skip
    assert parse_upload(csv_body, "text/csv; charset=utf-8") == parse_upload(json_body, "application/json")
    first = parse_upload(csv_body, "text/csv")[0]
    assert first == RosterRow("m1", "t1", "Manila", "en", 14.0, {"baseline_accuracy": 0.93, "shift": "night"})


def test_every_bad_row_is_reported_with_its_row_and_field():
    rows = [
        {"moderator_id": "a", "tenure_months": -1},
        {"team": "t"},
        {"moderator_id": "a"},
        {"moderator_id": "b", "tenure_months": "ten"},
        {"moderator_id": "c", "site": "x" * 101},
        {"moderator_id": "d", "baseline_accuracy": 1.5},
        "not an object",
        {"moderator_id": "e", "bad name": 1},
        {"moderator_id": "f", "nested": {"a": 1}},
    ]
    assert _problems(_json(rows)) == [
        (1, "tenure_months"),
        (2, "moderator_id"),
        (3, "moderator_id"),
        (4, "tenure_months"),
        (5, "site"),
        (6, "baseline_accuracy"),
        (7, "moderators"),
        (8, "bad name"),
        (9, "nested"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b'{"moderators": []}', "application/json", "moderators"),
        (b"", "text/csv", "moderators"),
        (b"[1, 2]", "application/json", "moderators"),
        (b"{not json", "application/json", "body"),
        (b"moderator_id,team,site\nm1,t,s\n", "text/csv", "language"),
        ("moderator_id,team,site,language,tenure_months\nm\xe9,t,s,l,1\n".encode("latin-1"), "text/csv", "body"),
        (HEADER.encode(), "text/csv", "moderators"),
    ],
)
def test_whole_upload_problems(body, content_type, field):
    assert field in {f for _, f in _problems(body, content_type)}


def test_csv_rows_with_wrong_cell_counts_and_duplicate_ids():
    body = (HEADER + "m1,t,s,l,1,,\nm2,t,s\nm1,t,s,l,2,,\n").encode()
    assert _problems(body, "text/csv") == [(2, "row"), (3, "moderator_id")]


def test_problems_are_capped_at_100_but_counted():
    with pytest.raises(ValidationFailed) as error:
        parse_upload(_json([{"team": "t"}] * 150), "application/json")
    assert len(error.value.details) == 100 and error.value.total == 150


def test_replace_roster_while_draft_in_bulk_and_records_events(session):
    pilot = make_pilot(session)
    session.commit()
    rows = parse_upload(_json(moderators(3000)), "application/json")
    assert replace_roster(session, pilot.id, rows, "pm-user") == 3000
    exported = [row["moderator_id"] for row in roster_table(session, pilot.id).rows()]  # pages of 1000
    assert exported == sorted(row.moderator_id for row in rows)
    assert replace_roster(session, pilot.id, rows[:10], "pm-user") == 10
    assert len(session.exec(select(RosterEntry).where(RosterEntry.pilot_id == pilot.id)).all()) == 10
    assert [(e.action, e.details) for e in history(session, pilot.id)] == [
        ("roster.replaced", {"moderators": 3000, "previous": 0}),
        ("roster.replaced", {"moderators": 10, "previous": 3000}),
    ]
    with pytest.raises(NotFound):
        replace_roster(session, 999_999, rows, "pm-user")


def _running(session, count=40):
    pilot = make_pilot(session)
    session.commit()
    replace_roster(session, pilot.id, parse_upload(_json(moderators(count)), "application/json"), "pm-user")
    randomize(session, pilot)
    pilot.status = "running"
    session.commit()
    return pilot


def test_after_launch_replace_is_409_and_late_joiners_are_idempotent(session):
    pilot = _running(session)
    rows = parse_upload(_json(moderators(2, prefix="late")), "application/json")
    with pytest.raises(Conflict, match="POST"):
        replace_roster(session, pilot.id, rows, "pm-user")
    first = add_late_joiners(session, pilot.id, rows, "pm-user")
    assert [a.moderator_id for a in first.added] == ["late0000", "late0001"] and first.unchanged == []
    again = add_late_joiners(session, pilot.id, rows, "pm-user")
    assert again.added == [] and [(a.moderator_id, a.arm) for a in again.unchanged] == [
        (a.moderator_id, a.arm) for a in first.added
    ]
    changed = [RosterRow("late0000", "team-0", "Manila", "en", 99.0, {"baseline_accuracy": 0.78})]
    with pytest.raises(Conflict) as error:
        add_late_joiners(session, pilot.id, changed, "pm-user")
    assert error.value.details[0]["fields"] == ["tenure_months"]
    actions = [e.action for e in history(session, pilot.id)]
    assert actions.count("roster.late_joiners_added") == 1


def test_late_joiners_only_while_running(session):
    pilot = make_pilot(session)
    session.commit()
    with pytest.raises(Conflict, match="PUT"):
        add_late_joiners(session, pilot.id, [RosterRow("x")], "pm-user")


def test_failed_late_joiner_upload_writes_nothing(session):
    pilot = _running(session)
    bad = [RosterRow("ok", "t", "Dublin", "en", 3.0), RosterRow("no-site", "t", "", "en", 3.0)]
    with pytest.raises(ValidationFailed) as error:
        add_late_joiners(session, pilot.id, bad, "pm-user")
    assert error.value.details[0]["row"] == 2
    assert session.exec(select(RosterEntry).where(RosterEntry.moderator_id == "ok")).first() is None


def test_exports_round_trip_through_csv(session):
    pilot = _running(session, count=5)
    roster_csv = b"".join(csv_chunks(roster_table(session, pilot.id)))
    assert roster_csv.startswith(b"moderator_id,team,site,language,tenure_months,baseline_accuracy\n")
    original = parse_upload(_json(moderators(5)), "application/json")
    assert parse_upload(roster_csv, "text/csv") == original
    assignments = list(assignment_table(session, pilot.id).rows())
    assert [a["moderator_id"] for a in assignments] == [f"m{i:04d}" for i in range(5)]
    assert {a["team"] for a in assignments} == {f"team-{i}" for i in range(5)}
