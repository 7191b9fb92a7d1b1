"""The records a rollup series holds (`pilots.results.unit_series`), and how rows become records and back.

`RECORD` is one pilot-period row of one moderator, exactly as `unit_day` holds it: the day offset from the start
date, the five counts, the two handle-time sums (38 bytes). `Rows` holds rollup rows as columns, either as floats or
as the records themselves (read column by column, never copied to floats whole); `encode` / `decode` turn them into
the per-moderator series values and back, and `Build` spools the rows a building read collects to a temporary file
until the fold is written.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from pilots.rollups import SUMS

log = logging.getLogger(__name__)

_WRITE_ROWS = 5_000  # series encoded and written at a time

# One pilot-period row: day offset from the start date, the five counts, the two handle-time sums (38 bytes).
RECORD = np.dtype([("day", "<i2"), ("counts", "<i4", (5,)), ("totals", "<f8", (2,))])
# A collected row of a build: the moderator's code and the record.
SPILLED = np.dtype([("code", "<i4"), ("record", RECORD)])
_COUNTS = 5
_INT32 = np.iinfo(np.int32).max


@dataclass(frozen=True, eq=False)
class Rows:
    """Rollup rows of the pilot period as columns: row i is moderator `moderators[moderator[i]]` on day offset
    `day[i]`, with the seven sums in `SUMS` order either as `sums[:, i]` (floats holding the stored values exactly)
    or as `records[i]` (`RECORD`s, as the series store them: read column by column, without a float copy of all)."""

    moderators: list[str]
    moderator: np.ndarray
    day: np.ndarray
    sums: np.ndarray | None = None
    records: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.day.size

    def column(self, k: int) -> np.ndarray:
        """Sum `SUMS[k]` of every row (the records' integers for the counts)."""
        if self.sums is not None:
            return self.sums[k]
        return self.records["counts"][:, k] if k < _COUNTS else self.records["totals"][:, k - _COUNTS]

    @property
    def data(self) -> np.ndarray:
        """Every sum as floats, `data[k, i]`."""
        if self.sums is not None:
            return self.sums
        data = np.empty((len(SUMS), self.size))
        data[:_COUNTS] = self.records["counts"].T
        data[_COUNTS:] = self.records["totals"].T
        return data

    def select(self, keep: np.ndarray) -> Rows:
        """The rows where `keep`."""
        if self.sums is not None:
            return Rows(self.moderators, self.moderator[keep], self.day[keep], self.sums[:, keep])
        return Rows(self.moderators, self.moderator[keep], self.day[keep], records=self.records[keep])


@dataclass(eq=False)
class Build:
    """The rows a direct read collects to build the series from, and the batch read before them. The rows go to an
    anonymous temporary file as they are read (`SPILLED`: 42 bytes a row with the moderator's code) and come back
    when the fold is written, after the document: held in memory through the analysis, the 1.6 million rows of a
    50,000-moderator pilot (73 MB) had put that one request above +300 MB. `fits` turns False, dropping what was
    collected, at a row `RECORD`s cannot hold exactly (`encodable`), or when the file cannot be written (a full or
    read-only disk: the request is answered without building)."""

    batch: int
    moderators: dict[str, int] = field(default_factory=dict)
    size: int = 0
    fits: bool = True
    _file: IO[bytes] | None = field(default=None, repr=False)

    def add(self, moderator_ids: list[str], day: np.ndarray, data: np.ndarray) -> None:
        if not self.fits:
            return
        code = self.moderators
        codes = np.fromiter(
            (code.setdefault(m, len(code)) for m in moderator_ids), dtype=np.int64, count=len(moderator_ids)
        )
        rows = Rows([], codes, day.astype(np.int64), data)
        if not encodable(rows):
            self._give_up()
            return
        spilled = np.empty(rows.size, dtype=SPILLED)
        spilled["code"] = codes
        spilled["record"] = as_records(rows)
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 (kept open until the fold is written)
            self._file.write(spilled.tobytes())
        except OSError:
            log.warning("no room for the rollup rows of a series build; the series are left unbuilt", exc_info=True)
            self._give_up()
            return
        self.size += rows.size

    def _give_up(self) -> None:
        self.fits = False
        self.clear_rows()

    def clear_rows(self) -> None:
        self.close()
        self.size = 0

    def clear(self) -> None:
        self.moderators.clear()
        self.clear_rows()
        self.fits = True

    def rows(self) -> Rows | None:
        """Every row collected, once: the file is gone after (None when a row did not fit, the file could not be
        read back, or the rows were taken already)."""
        if not self.fits:
            return None
        try:
            spilled = np.zeros(0, SPILLED)
            if self._file is not None:
                self._file.seek(0)
                spilled = np.frombuffer(self._file.read(), dtype=SPILLED)
        except OSError:
            log.warning("could not read back the rollup rows of a series build", exc_info=True)
            return None
        finally:
            self._give_up()
        records = spilled["record"]
        return Rows(list(self.moderators), spilled["code"], records["day"].astype(np.int64), records=records)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    __del__ = close  # a build dropped unwritten (a fold that could not be stored) removes its file too


def decode(series: list[tuple]) -> Rows:
    """`Rows` of `(moderator_id, series)` rows (holding their records)."""
    moderators = [row[0] for row in series]
    blobs = [row[1] for row in series]  # bytes, or memoryviews (the drivers' binary values): join takes either
    lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    records = np.frombuffer(b"".join(blobs), dtype=RECORD)
    moderator = np.repeat(np.arange(len(series), dtype=np.int32), lengths // RECORD.itemsize)
    return Rows(moderators, moderator, records["day"], records=records)  # the records' own columns: no copies


def as_records(rows: Rows, order: np.ndarray | slice = slice(None)) -> np.ndarray:
    """The rows (in `order`) as `RECORD`s (see `encodable`)."""
    records = np.empty(rows.day[order].size, dtype=RECORD)
    records["day"] = rows.day[order]
    if rows.records is not None:
        records["counts"] = rows.records["counts"][order]
        records["totals"] = rows.records["totals"][order]
        return records
    records["counts"] = rows.sums[:_COUNTS, order].T
    records["totals"] = rows.sums[_COUNTS:, order].T
    return records


def encodable(rows: Rows) -> bool:
    """Whether `RECORD`s hold the rows exactly: integral counts within int32, day offsets within int16."""
    if rows.size == 0 or rows.sums is None:
        return rows.size == 0 or bool(rows.day.min() >= 0 and rows.day.max() <= np.iinfo(np.int16).max)
    counts = rows.sums[:_COUNTS]
    return bool(
        np.all(counts == np.floor(counts))
        and counts.min() >= 0
        and counts.max() <= _INT32
        and rows.day.min() >= 0
        and rows.day.max() <= np.iinfo(np.int16).max
    )


def encode(rows: Rows, size: int = _WRITE_ROWS) -> Iterator[list[tuple[str, bytes]]]:
    """`(moderator_id, series)` of every moderator with rows, each series in day order, `size` moderators at a
    time (the bytes of one part at once, beside the records)."""
    order = np.lexsort((rows.day, rows.moderator))
    records = as_records(rows, order)
    codes, first, counts = np.unique(rows.moderator[order], return_index=True, return_counts=True)
    raw = records.view(np.uint8)
    width = RECORD.itemsize
    for k in range(0, codes.size, size):
        yield [
            (rows.moderators[c], raw[f * width : (f + n) * width].tobytes())
            for c, f, n in zip(
                codes[k : k + size].tolist(), first[k : k + size].tolist(), counts[k : k + size].tolist(), strict=True
            )
        ]
