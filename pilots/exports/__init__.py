"""Exports: tables streamed as CSV or JSON in chunks, never built whole in memory.

- `table`: `ExportTable` (column names and a row iterator) and the generic writers (`csv_chunks`, `json_chunks`,
  `pseudonymized`), formula cells escaped with `pilots.csv_safety`.
- `sql`: the same CSV written by the database itself (PostgreSQL `COPY`, SQLite line by line), for the large tables.
"""
