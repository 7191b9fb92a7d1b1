"""The four roles and the permissions each holds."""

from __future__ import annotations

ROLES = ("admin", "pm", "analyst", "viewer")

# What each permission lets a role do. `write`: create, edit, launch, ingest, conclude. `export`: moderator-level
# data (roster, assignments, outcomes, per-unit aggregates). `read`: pilots, balance and results.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "export": frozenset({"admin", "pm", "analyst"}),
    "write": frozenset({"admin", "pm"}),
    "manage_users": frozenset({"admin"}),
}


def can(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`."""
    return role in PERMISSIONS[permission]
