"""Example request bodies for the OpenAPI document: one coherent pilot, from registration to its decision.

They appear in the API reference (Swagger UI pre-fills "Try it out" with them) and seed the schemathesis runs, whose
generated bodies start from them and so get past validation to the handlers. Every example is a valid body of its
model (`tests/webui/test_openapi_examples.py` checks each against the model and sends it through the API).
"""

from __future__ import annotations

PILOT_CREATE = {
    "name": "AI policy hints in the review console",
    "kind": "tool",
    "hypothesis": "Showing the matching policy clause next to each item raises decision accuracy.",
    "arms": [
        {"name": "control", "display_name": "Current console"},
        {"name": "treatment", "display_name": "Console with policy hints"},
    ],
    "strata": ["site", "language"],
    "metrics": [
        {"name": "accuracy", "role": "primary"},
        {
            "name": "critical_error_rate",
            "role": "guardrail",
            "margin": 0.005,
            "critical_policies": [{"policy": "violent_extremism", "margin": 0.01}],
        },
        {"name": "handle_time", "role": "secondary"},
    ],
    "design": {"method": "group_sequential", "alpha": 0.05, "power": 0.8, "looks": 4, "min_days": 14},
    "start_date": "2030-03-04",
    "end_date": "2030-04-28",
    "pre_period_start": "2030-02-04",
}

PILOT_UPDATE = {"hypothesis": "Policy hints raise accuracy without slowing reviews.", "design": {"looks": 5}}

ROSTER = {
    "moderators": [
        {
            "moderator_id": f"mod-{k:04d}",
            "team": f"team-{1 + k % 2}",
            "site": site,
            "language": language,
            "tenure_months": tenure,
        }
        for k, (site, language, tenure) in enumerate(
            [
                ("Lisbon", "pt", 3),
                ("Lisbon", "pt", 14),
                ("Manila", "en", 7),
                ("Manila", "en", 30),
                ("Lisbon", "es", 18),
                ("Manila", "tl", 2),
            ],
            start=1,
        )
    ]
}

OUTCOMES = {
    "outcomes": [
        {
            "audit_id": "qa-2030-03-05-000017",
            "moderator_id": "mod-0001",
            "audited_at": "2030-03-05T14:02:00Z",
            "correct": True,
            "critical": False,
            "handle_time_s": 41.5,
            "policy": "hate_speech",
            "queue": "pt-escalations",
            "auditor_id": "auditor-07",
            "item_id": "item-88412",
        },
        {
            "audit_id": "qa-2030-03-05-000018",
            "moderator_id": "mod-0003",
            "audited_at": "2030-03-05T14:05:30Z",
            "correct": False,
            "critical": True,
            "handle_time_s": 63.0,
            "policy": "violent_extremism",
            "queue": "en-general",
            "auditor_id": "auditor-02",
        },
    ]
}

PLAN_REQUESTS = [
    {
        "metric": "accuracy",
        "units": 200,
        "audits_per_week": 25,
        "baseline": 0.92,
        "icc": 0.05,
        "weeks": 8,
        "method": "group_sequential",
        "target_effect": 0.02,
    },
    {
        "metric": "handle_time",
        "units_per_arm": [60, 60],
        "audits_per_week": 40,
        "baseline": 55.0,
        "variance_components": {"between": 90.0, "within": 1600.0},
        "weeks": 6,
        "method": "always_valid",
        "looks_per_week": 7,
    },
]

CONCLUDE = {
    "decision": "roll_out",
    "rationale": "Accuracy rose 2.1 points with no guardrail breach; rolling out to both sites.",
    "note": "Reviewed with the Lisbon and Manila site leads.",
}
