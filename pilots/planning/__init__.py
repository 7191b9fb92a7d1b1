"""Planning: what a pilot can detect before it runs, and the plan that launch locks.

- `service`: a pilot (its pre-period rollups) or request parameters into `analysis.planning` inputs and a plain
  plan document (`run_plan`, `pilot_plan`, `plan_document`); also `VarianceModel`, which the results engine uses to
  plan the information curve of a running pilot.
- `notes`: what a plan says beside its weekly table (the power futility bounds keep, what grading noise costs).
- `small_sample`: the plan's promise for team pilots and pilots with few units, priced by simulating the results
  engine's t-corrected, randomization-confirmed procedure.
- `canonical`: the canonical plan of a pilot and its SHA-256 hash, stored at launch and verified afterwards.

Nothing is re-exported here: `small_sample` imports the results engine, which imports `service`, so each name is
imported from its module.
"""
