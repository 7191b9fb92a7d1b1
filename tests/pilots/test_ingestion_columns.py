"""The column-wise fast path for JSON batches gives exactly what the per-row path gives, or stays out of the way."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pilots.errors import ValidationFailed
from pilots.ingestion import bodies, columns, csv_rows, parse, parse_json_records
from pilots.ingestion.csv_input import ColumnRows
from pilots.ingestion.fields import FIELDS, make_window
from tests.pilots.ingestion_support import audit

WINDOW = make_window(frozenset({"m01", "m02"}), date(2026, 1, 5), date(2026, 3, 29), datetime(2026, 6, 1, tzinfo=UTC))

# For each field: a well-formed value generator and a pool of unusual or invalid values (None means "absent").
MISSING = object()
NOT_FINITE = [float("nan"), float("inf"), 10**400]
UNUSUAL = {
    "audit_id": ["", 17, None, "x" * 101, "a\x00b", ["a"], MISSING, "a1"],
    "moderator_id": ["m99", "", None, 5, ["m01"], MISSING, "m02"],
    "audited_at": [
        "2026-02-10T08:15:12+00:00",
        "2026-02-10 08:15:12Z",
        "2026-02-10T08:15:12.5Z",
        "2026-02-10T09:15:12+01:00",
        "20260210T081512Z",
        "20260210T081512.123+00:00",
        "2026-02-30T08:15:12Z",
        "2026-02-10T24:00:00Z",
        "2026-02-10T08:60:12+00:00",
        "2026-02-10 08:15:60Z",
        "0000-02-10T08:15:12Z",
        "2026-13-10T08:15:12Z",
        "2026-02-10T19:59:59Z",
        "2026-02-10T08:15:12",
        "2026-02-10x08:15:12Z",
        "2026-01-04T23:59:59Z",
        "2026-03-30T00:00:00Z",
        "2026-03-29T23:59:59Z",
        "2026-01-05T00:00:00Z",
        "2026-02-10T08:15:12Z\n2026-02-10T08:15:12Z",
        "２026-02-10T08:15:12Z",
        1760000000,
        None,
        MISSING,
    ],
    "correct": [1, 0, "true", None, MISSING, False],
    "critical": [True, None, MISSING, 0, "", "false"],
    "handle_time_s": [0, 3, 0.0, -0.0, 86400, 86400.5, -1, True, "1", *NOT_FINITE, None, MISSING],
    "policy": ["", None, MISSING, "p" * 100, "p" * 101, "a\x00", 5, False],
    "queue": ["", None, MISSING, "q" * 101],
    "auditor_id": ["", None, MISSING, ["qa"]],
    "item_id": ["", None, MISSING, "item-1", "i" * 101, 7],
    "extra": [MISSING, MISSING, MISSING, 1],
    "day": [MISSING, MISSING, "2026-02-10"],
}


def random_record(rng: random.Random, k: int, unusual: float) -> object:
    if rng.random() < unusual / 20:
        return rng.choice(["not an object", ["a"], None])
    second = rng.randrange(0, 80 * 86400)
    when = datetime.fromtimestamp(datetime(2026, 1, 5, tzinfo=UTC).timestamp() + second, UTC)
    record = audit(
        f"a{k}",
        rng.choice(["m01", "m02"]),
        when.isoformat().replace("+00:00", rng.choice(["Z", "+00:00"])),
        correct=rng.random() < 0.9,
        critical=rng.choice([True, False, None]),
        handle_time_s=rng.choice([None, round(rng.uniform(0, 300), 1)]),
    )
    for name, pool in UNUSUAL.items():
        if rng.random() < unusual:
            value = rng.choice(pool)
            if value is MISSING:
                record.pop(name, None)
            else:
                record[name] = value
    return record


def parsed(parse_batch):
    """What parsing gives: the batch's fields, or the rejection's details."""
    try:
        batch = parse_batch()
    except ValidationFailed as error:
        return ("rejected", error.message, error.details)
    return ("batch", batch.values, batch.row_numbers, batch.duplicates, batch.sums)


def outcome(records, window=WINDOW):
    return parsed(lambda: parse_json_records(records, window, first_row=3))


def random_batches(seed: int, unusual: float, trials: int):
    """`trials` random batches of 1 to 12 records (sometimes with a record repeated)."""
    rng = random.Random(seed)
    for trial in range(trials):
        records = [random_record(rng, k, unusual) for k in range(rng.randint(1, 12))]
        if rng.random() < 0.1:
            records.append(dict(records[0]) if isinstance(records[0], dict) else records[0])
        yield trial, records


@pytest.mark.parametrize("unusual", [0.0, 0.01, 0.05, 0.3])
def test_fast_path_agrees_with_the_row_path(monkeypatch, unusual):
    taken = 0
    for trial, records in random_batches(int(unusual * 1000) + 11, unusual, 400):
        fast = outcome(records)
        taken += columns.parse_columns(records, WINDOW, 3) is not None
        with monkeypatch.context() as patched:
            patched.setattr(parse, "parse_columns", lambda *args: None)
            exact = outcome(records)
        assert fast == exact, (trial, records)
    if unusual == 0:
        assert taken > 300  # well-formed batches do take the fast path


def test_values_are_stored_form_and_rows_have_booleans():
    records = [audit("a1", critical=None, handle_time_s=3), audit("a2", correct=False, critical=True, policy="")]
    batch = columns.parse_columns(records, WINDOW, 1)
    assert batch is not None
    assert [v[4:7] for v in batch.values] == [(1, None, 3.0), (0, 1, 42.5)]
    assert type(batch.values[0][6]) is float
    assert [(r.correct, r.critical, r.policy) for r in batch.rows] == [(True, None, "spam"), (False, True, None)]
    assert batch.sums == {("m01", "2026-02-10"): [2, 1, 1, 1, 2, 45.5, 9.0 + 42.5**2]}


@pytest.mark.parametrize(
    "records",
    [
        [],
        [audit("a1"), audit("a1")],
        [audit("a1", audited_at="2026-02-10T08:15:12.5Z")],
        [audit("a1", audited_at="2026-02-10T09:15:12+01:00")],
    ],
)
def test_unusual_batches_are_left_to_the_row_path(records):
    assert columns.parse_columns(records, WINDOW, 1) is None
    assert parse_json_records(records, WINDOW) is not None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(',\n\r"a1 \x00é')), max_size=30))
def test_plain_csv_split_agrees_with_csv_reader(text):
    split = bodies._split_plain(text)
    if split is not None:
        assert split == list(csv.reader(io.StringIO(text, newline="")))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(',\n\r"a1 \x00é')), max_size=30))
@example(",,\n1\n1")  # two short lines once passed as one row of the header's width, a line end inside it
@example("a,1\n1,a\n,\n1,1\r\n")
def test_plain_csv_columns_agree_with_csv_reader(text):
    """The one-pass column split gives csv.reader's header and rows whenever it accepts a text: every line as wide
    as the header (otherwise the line-by-line split, then csv.reader, decide)."""
    split = bodies._plain_columns(text)
    if split is not None:
        header, rows = split
        expected = list(csv.reader(io.StringIO(text, newline="")))
        assert [header, *rows] == expected
        assert len(rows) == len(expected) - 1
        assert all(len(column) == len(rows) for column in rows.columns)


def test_uneven_plain_csv_is_left_to_the_line_split():
    assert bodies._plain_columns("a,b\n1,2\n3\n") is None
    assert bodies._split_plain("a,b\n1,2\n3\n") == [["a", "b"], ["1", "2"], ["3"]]


def test_escaped_cells_are_restored_in_column_rows():
    body = csv_body([audit("a1", policy="=SUM(A1)"), audit("a2")]).replace(b"=SUM(A1)", b"'=SUM(A1)")
    layout, rows = csv_rows(body)
    assert isinstance(rows, ColumnRows)
    assert rows[0][FIELDS.index("policy")] == "'=SUM(A1)"  # built before unescaping: rebuilt after it
    batch = parse.parse_csv_rows(rows, layout, WINDOW)
    assert [r.policy for r in batch.rows] == ["=SUM(A1)", "spam"]
    assert rows[0][FIELDS.index("policy")] == "=SUM(A1)"


def csv_body(records) -> bytes:
    """Records as a CSV body: the fields they use as columns, JSON values written as CSV text."""
    names = [name for name in (*FIELDS, "extra", "day") if any(isinstance(r, dict) and name in r for r in records)]
    lines = [",".join(names)]
    for record in records:
        if not isinstance(record, dict):
            lines.append("x")
            continue
        cells = []
        for name in names:
            value = record.get(name)
            cells.append("" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def csv_outcome(body: bytes):
    def parse_body():
        layout, rows = csv_rows(body)
        return parse.parse_csv_rows(rows, layout, WINDOW, first_row=3)

    return parsed(parse_body)


@pytest.mark.parametrize("unusual", [0.0, 0.01, 0.05, 0.3])
def test_csv_fast_paths_agree_with_csv_reader_and_the_row_path(monkeypatch, unusual):
    taken = 0
    for trial, records in random_batches(int(unusual * 1000) + 29, unusual, 300):
        body = csv_body(records)
        fast = csv_outcome(body)
        if fast[0] == "batch":
            layout, rows = csv_rows(body)
            taken += columns.parse_csv_columns(rows, layout, WINDOW, 3) is not None
        with monkeypatch.context() as patched:
            patched.setattr(parse, "parse_csv_columns", lambda *args: None)
            patched.setattr(bodies, "_split_plain", lambda text: None)
            exact = csv_outcome(body)
        assert fast == exact, (trial, body)
    if unusual == 0:
        assert taken > 200


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-02-10T08:15:12Z",
        "2026-02-10 23:59:59+00:00",
        "2026-02-10T24:00:00Z",
        "2026-02-10T08:60:12Z",
        "2026-02-10T08:15:60Z",
        "2026-02-29T08:15:12Z",
        "2024-02-29T08:15:12Z",
        "2026-04-31T08:15:12Z",
        "0000-01-01T00:00:00Z",
        "2026-00-10T08:15:12Z",
    ],
)
def test_the_timestamp_column_accepts_what_fromisoformat_accepts(stamp):
    """Shape and time by the regex, the calendar by the distinct days: the same verdict as parsing each stamp."""
    try:
        expected = datetime.fromisoformat(stamp).astimezone(UTC).isoformat(" ", "microseconds")[:26]
    except ValueError:
        expected = None
    got = columns._utc_texts(["2026-02-10T08:15:12Z", stamp])
    assert (got[0][1] if got else None) == expected
