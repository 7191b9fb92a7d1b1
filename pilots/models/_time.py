"""Timestamps are timezone-aware UTC everywhere (SQLModel's UTCDateTime stores them so on every database)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
