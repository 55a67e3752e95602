"""The adaptive spread: a hydration slot over capacity is spread wider, pure math, no I/O.

Normally a user's reminder comes ``REMINDER_SPREAD_MINUTES`` at most after its slot (a stable
offset per user). When the users of one slot (a UTC minute, all zones together) would need
more than the send budget there, their hydration reminders are spread over a wider stretch:
each minute takes what the budget leaves free in it, first up to ``LATE_BOUND`` minus a margin
after the slot, then before it, nearest first, at most ``lead_max`` minutes. Each user keeps a
stable place: their hash fraction of the stretch's reminders, counted minute by minute.
Check-ins and the tolerance question keep their time; the stretches go around them.

A stretch's offsets stay within one hour (``SLOT_SPACING``, the closest two slots of one
rule), so the slot a due time stands for is the one rule slot in that hour: a re-plan never
repeats a slot, even after the plan changed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reminderbot.schedule import Rule, WakingWindow, next_due, spread_offset

# No hydration reminder is planned later than this after its slot.
LATE_BOUND = timedelta(minutes=15)
# Stretches end this long before LATE_BOUND: the sends due in their last minute need it.
QUEUE_MARGIN = timedelta(minutes=2)
# The share of the send budget reminders are planned against: replies to people, check-ins
# rounding and the hash's unevenness (about 1/sqrt(n) per minute) take the rest.
USABLE_SHARE = 0.9
# The closest two slots of one user's rule (hydration every hour).
SLOT_SPACING = timedelta(hours=1)
_HASH_SPACE = 2**64
_MINUTE = timedelta(minutes=1)


def spread_fraction(user_key: int) -> float:
    """A user's stable place in [0, 1) within any stretch (the hash ``spread_offset`` uses)."""
    digest = hashlib.blake2b(str(user_key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _HASH_SPACE


def minute_of_day(moment: datetime) -> int:
    """The UTC minute of the day (0-1439) a moment falls in: a stretch's key."""
    utc = moment.astimezone(UTC)
    return utc.hour * 60 + utc.minute


@dataclass(frozen=True)
class Stretch:
    """Where one slot's hydration reminders go: from ``lead`` minutes before it, ``shares[i]``
    of them in the i-th minute (what the budget leaves free there)."""

    lead: int
    shares: tuple[int, ...]

    @property
    def width(self) -> int:
        """How many minutes the stretch covers."""
        return len(self.shares)

    def place(self, fraction: float) -> timedelta:
        """The offset from the slot of the user at ``fraction`` of the stretch's reminders."""
        total = sum(self.shares)
        target, before = fraction * total, 0
        for minute, share in enumerate(self.shares):
            if share and target < before + share:
                within = math.floor((target - before) / share * 60)
                return timedelta(seconds=(minute - self.lead) * 60 + within)
            before += share
        return timedelta(minutes=self.width - self.lead) - timedelta(seconds=1)


@dataclass(frozen=True)
class SpreadPlan:
    """The stretches of the slots over capacity, by UTC minute of the day (empty: none)."""

    base_minutes: int
    stretches: Mapping[int, Stretch] = field(default_factory=dict)

    @property
    def end(self) -> timedelta:
        """How far after its slot a reminder can be planned: the base spread or the stretch end."""
        return max(timedelta(minutes=self.base_minutes), LATE_BOUND - QUEUE_MARGIN)

    @property
    def lead_max(self) -> timedelta:
        """How far before its slot a reminder may come: offsets stay within one hour."""
        return max(timedelta(0), SLOT_SPACING - self.end)

    def offset(self, user_key: int, slot: datetime) -> timedelta:
        """The user's offset from ``slot`` (UTC): the base spread, or the slot's stretch."""
        stretch = self.stretches.get(minute_of_day(slot))
        if stretch is None:
            return spread_offset(user_key, self.base_minutes)
        return stretch.place(spread_fraction(user_key))


def stretched_due(
    plan: SpreadPlan,
    user_key: int,
    rule: Rule,
    zone: ZoneInfo,
    window: WakingWindow,
    after: datetime,
    last_slot: datetime | None,
) -> datetime:
    """The first due time strictly after ``after`` of a slot after ``last_slot``, with the
    plan's offset for that slot (``schedule.next_due`` with a per-slot offset)."""
    probe = after - plan.end
    while True:
        slot = next_due(rule, zone, window, timedelta(0), probe, last_slot)
        due = slot + plan.offset(user_key, slot)
        if due > after:
            return due
        probe = slot


def stretched_slot(
    plan: SpreadPlan, rule: Rule, zone: ZoneInfo, window: WakingWindow, due: datetime
) -> datetime | None:
    """The local wall-clock slot (naive) ``due`` stands for: the one rule slot within
    ``(due - end, due + lead_max]`` (None: no slot there, the row was planned otherwise)."""
    slot = next_due(rule, zone, window, timedelta(0), due - plan.end)
    if slot > due + plan.lead_max:
        return None
    return slot.astimezone(zone).replace(tzinfo=None)


def _spread_evenly(count: int, start: datetime, width: int) -> Iterable[tuple[datetime, int]]:
    """``count`` reminders over ``width`` minutes from ``start``, as even as whole numbers go."""
    width = max(width, 1)
    share, rest = divmod(count, width)
    for minute in range(width):
        amount = share + (1 if minute < rest else 0)
        if amount:
            yield start + minute * _MINUTE, amount


def base_load(count: int, slot: datetime, base_minutes: int) -> Iterable[tuple[datetime, int]]:
    """A slot's ``count`` reminders per minute with the base spread (the hash taken as even)."""
    return _spread_evenly(count, slot, base_minutes)


def stretch_load(count: int, slot: datetime, stretch: Stretch) -> Iterable[tuple[datetime, int]]:
    """A slot's ``count`` reminders per minute over its stretch, in proportion to its shares."""
    total, before = sum(stretch.shares), 0
    first = slot - stretch.lead * _MINUTE
    for minute, share in enumerate(stretch.shares):
        amount = round(count * (before + share) / total) - round(count * before / total)
        before += share
        if amount:
            yield first + minute * _MINUTE, amount


def _fill(free: Mapping[datetime, int], count: int, slot: datetime, end: int,
          lead_max: int) -> Stretch:
    """Take what each minute has free: after the slot first, then before it, nearest first;
    what is left over goes evenly over the whole stretch (over capacity: the best there is)."""
    taken: dict[int, int] = {}  # minute relative to the slot -> reminders
    order = [*range(end), *range(-1, -lead_max - 1, -1)]
    left = count
    for minute in order:
        if not left:
            break
        amount = min(left, free.get(slot + minute * _MINUTE, 0))
        if amount:
            taken[minute] = amount
            left -= amount
    lead = max(0, -min(taken, default=0))
    if left:
        lead = lead_max
        width = lead_max + end
        share, rest = divmod(left, width)
        for i, minute in enumerate(range(-lead_max, end)):
            taken[minute] = taken.get(minute, 0) + share + (1 if i < rest else 0)
    return Stretch(lead, tuple(taken.get(minute, 0) for minute in range(-lead, end)))


def _queued(per_minute: Mapping[datetime, int], rate: int) -> dict[datetime, int]:
    """What a queue sending ``rate`` a minute sends in each minute: a minute over the rate
    spills into the next ones, which then have that much less room."""
    sent: dict[datetime, int] = {}
    waiting, minute = 0, min(per_minute, default=None)
    last = max(per_minute, default=None)
    while minute is not None and last is not None and (minute <= last or waiting):
        waiting += per_minute.get(minute, 0)
        if waiting:
            sent[minute] = min(waiting, max(rate, 1))
            waiting -= sent[minute]
        minute += _MINUTE
    return sent


def plan_spreads(
    hydration: Mapping[datetime, int],
    fixed: Mapping[datetime, int],
    base_minutes: int,
    limit_per_minute: int,
) -> SpreadPlan:
    """The stretches that keep every minute within the usable budget, slot by slot in time.

    ``hydration``: users per hydration slot (UTC minute) in the next 24 hours; ``fixed``:
    every other reminder per minute (they keep their time; where they are more than the
    budget, they spill into the next minutes). A slot that fits with the base spread keeps
    it; one that does not takes what the minutes around it have free, after the slot first,
    then before it (see ``_fill``).
    """
    plan = SpreadPlan(base_minutes)
    if plan.lead_max <= timedelta(0):
        return plan  # a base spread of an hour or more leaves no room to stretch
    usable = limit_per_minute * USABLE_SHARE
    load = _queued(fixed, math.floor(usable))
    end, lead_max = int(plan.end / _MINUTE), int(plan.lead_max / _MINUTE)
    stretches: dict[int, Stretch] = {}
    for slot, count in sorted(hydration.items()):
        placed = list(base_load(count, slot, base_minutes))
        if not all(load.get(minute, 0) + amount <= usable for minute, amount in placed):
            window = [slot + minute * _MINUTE for minute in range(-lead_max, end)]
            free = {minute: max(0, math.floor(usable - load.get(minute, 0)))
                    for minute in window}
            stretch = _fill(free, count, slot, end, lead_max)
            stretches[minute_of_day(slot)] = stretch
            placed = list(stretch_load(count, slot, stretch))
        for minute, amount in placed:
            load[minute] = load.get(minute, 0) + amount
    return SpreadPlan(base_minutes, stretches)
