"""Accounts: roles and permissions, users and passwords, API tokens, browser sessions, sign-in throttling.

The most used names are re-exported here (`from pilots import accounts; accounts.can(...)`); the modules:

- `roles`: the four roles and what each may do (`can`).
- `users`: create, list, change role, reset password, deactivate.
- `tokens`: API tokens (256-bit secrets stored as SHA-256 digests), expiry, scope, revocation, last use.
- `sessions`: server-side records of signed-in browser sessions.
- `throttle`: failed attempts counted in the database, per account and per address.
- `access`: password sign-in and bearer-token checks, throttled and recorded in the audit trail.
"""

from pilots.accounts.roles import PERMISSIONS, ROLES, can
from pilots.accounts.tokens import TOKEN_PREFIX, issue_token, revoke_tokens
from pilots.accounts.users import create_user

__all__ = ["PERMISSIONS", "ROLES", "TOKEN_PREFIX", "can", "create_user", "issue_token", "revoke_tokens"]
