"""The spectree instance that validates API requests and generates the OpenAPI document."""

from __future__ import annotations

from spectree import SecurityScheme, SpecTree

spec = SpecTree(
    "flask",
    title="PilotLab API",
    version="1.0.0",
    description="Register pilots, randomize rosters, ingest QA outcomes and read sequential results.",
    mode="strict",
    annotations=True,
    validation_error_status=422,
    security_schemes=[
        SecurityScheme(name="bearer", data={"type": "http", "scheme": "bearer"}),
    ],
    security={"bearer": []},
)
