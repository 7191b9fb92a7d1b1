"""The results engine: sequential analysis of a running pilot, from its per-unit rollups, cached per data version.

`results_document(session, pilot_id, as_of=None)` is the one entry point the API and the pages use. Modules by job:
`loader` (rollups into units x days arrays), `unit_series` (the pilot period's rollups as one row per moderator,
folded), `looks` (look schedule and information time), `metric` (estimates per look), `sequential` (the design's
test), `multiplicity` (Holm / Bonferroni levels), `checks` (data quality), `breakdowns` (segments, by week),
`verdict` (the decision), `document` (assembly), `export` (the CSV table), `cache` (stored documents), `service`
(cache-or-compute).
"""

from pilots.results.service import results_document

__all__ = ["results_document"]
