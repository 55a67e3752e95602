"""Pure time math: when a reminder is next due, from a rule, a zone, a waking window, an offset.

The calendar work (time zones, DST gaps) is APScheduler's ``CronTrigger`` on ``zoneinfo``;
this module only says which wall-clock slots a rule has and adds the user's spread offset.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

# A reminder this late (the bot was down) is skipped rather than sent late.
LATE_LIMIT = timedelta(minutes=30)

_MINUTES_PER_DAY = 24 * 60
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class WakingWindow:
    """The local hours in which hydration reminders may come; may wrap past midnight."""

    start: time = time(9, 0)
    end: time = time(21, 0)


@dataclass(frozen=True)
class Hydration:
    """Every ``every_hours`` hours from the start of the waking window to its end."""

    every_hours: int = 3


@dataclass(frozen=True)
class Daily:
    """Once a day at a local time."""

    at: time = time(10, 0)


@dataclass(frozen=True)
class Weekly:
    """Once a week, on ``weekday`` (0 is Monday) at a local time."""

    weekday: int
    at: time = time(10, 0)


Rule = Hydration | Daily | Weekly

_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def hydration_slots(window: WakingWindow, every_hours: int) -> list[time]:
    """The local times of the hydration slots, in order from the window's start."""
    if every_hours < 1:
        raise ValueError("every_hours must be at least 1")
    start = _minutes(window.start)
    length = (_minutes(window.end) - start) % _MINUTES_PER_DAY
    step = every_hours * 60
    return [
        time(*divmod((start + k * step) % _MINUTES_PER_DAY, 60)) for k in range(length // step + 1)
    ]


# Kept: a trigger never changes, and a few rules, zones and windows serve every user.
@functools.lru_cache(maxsize=4096)
def trigger_for(rule: Rule, zone: ZoneInfo, window: WakingWindow) -> CronTrigger:
    """The APScheduler trigger that fires at the rule's local wall-clock slots."""
    if isinstance(rule, Daily):
        return CronTrigger(hour=rule.at.hour, minute=rule.at.minute, timezone=zone)
    if isinstance(rule, Weekly):
        return CronTrigger(
            day_of_week=_CRON_DAYS[rule.weekday],
            hour=rule.at.hour,
            minute=rule.at.minute,
            timezone=zone,
        )
    slots = hydration_slots(window, rule.every_hours)
    hours = ",".join(str(h) for h in sorted({slot.hour for slot in slots}))
    return CronTrigger(hour=hours, minute=window.start.minute, timezone=zone)


def next_due(
    rule: Rule,
    zone: ZoneInfo,
    window: WakingWindow,
    offset: timedelta,
    after: datetime,
    last_slot: datetime | None = None,
) -> datetime:
    """The first due time strictly after ``after``: a slot of the rule plus ``offset``, in UTC.

    ``last_slot`` is the local wall-clock slot last sent (naive): the result's slot comes
    after it, so a change of offset or zone never sends one slot twice. On the autumn DST
    change a wall-clock time happens twice; the slot fires once, at its first occurrence.
    """
    trigger = trigger_for(rule, zone, window)
    base = (after - offset).astimezone(UTC)
    previous_wall = base.astimezone(zone).replace(tzinfo=None)
    if last_slot is not None and last_slot > previous_wall:
        previous_wall = last_slot
        # Start the search from that wall time (its first instant, should it repeat).
        base = max(base, last_slot.replace(tzinfo=zone, fold=0).astimezone(UTC))
    fire: datetime = trigger.get_next_fire_time(None, base + _TICK)
    # The repeated hour: skip a slot whose wall time is not later than where we stand.
    while fire.astimezone(zone).replace(tzinfo=None) <= previous_wall:
        fire = trigger.get_next_fire_time(None, fire.astimezone(UTC) + _TICK)
    return fire.astimezone(UTC) + offset


def slot_of(due: datetime, offset: timedelta, zone: ZoneInfo) -> datetime:
    """The local wall-clock slot (naive) a due time stands for."""
    return (due - offset).astimezone(zone).replace(tzinfo=None)


def is_late(due: datetime, now: datetime) -> bool:
    """True when a reminder due at ``due`` is too late to send at ``now``."""
    return now - due > LATE_LIMIT


def spread_offset(user_key: int, spread_minutes: int) -> timedelta:
    """A stable offset in [0, spread_minutes) for a user, so that users' slots fan out."""
    if spread_minutes <= 0:
        return timedelta(0)
    digest = hashlib.blake2b(str(user_key).encode(), digest_size=8).digest()
    return timedelta(seconds=int.from_bytes(digest, "big") % (spread_minutes * 60))
