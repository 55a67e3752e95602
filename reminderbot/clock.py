"""The one source of "now": the real clock in production, a movable one in tests and ``try``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Current time, aware, in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests and the try-out mode)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The current simulated time."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; return the new time."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> datetime:
        """Move forward to ``when``."""
        return self.advance(when.astimezone(UTC) - self._now)
