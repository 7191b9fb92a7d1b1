"""Assignment: who is in which arm, and why.

- `strata`: which roster attributes put a unit in which stratum (banding of tenure, quality and numeric attributes).
- `blocks`: the pure permuted-block core shared by launch, late joiners and the randomization test.
- `randomization`: stratified randomization of the roster at launch and of late joiners afterwards.
- `layers`: a moderator (or team) takes part in at most one running pilot per layer.
- `balance`: the balance report of a launched pilot (units by stratum and arm, standardized differences).
"""
