"""The load forecast: reminders due per minute over the next 24 hours, against the send limit.

One aggregate query groups the schedule rows that will send: recurring rows by their rule and
their user's zone and waking window (a hydration row recurs several times a day, so its
``next_due_at`` alone would miss most of its sends), one-shot rows (snoozes) by the minute
they are due. The groups are then projected in Python onto UTC minutes with the same
schedule math the bot plans with (pure functions below). What is approximated, knowingly:

- a slot's users are taken as spread evenly over the spread minutes (the real per-user hash
  is even to about 1/sqrt(n) per minute; ``spread.USABLE_SHARE`` leaves room for that);
- paused users are left out (a timed pause that ends within the 24 hours is not counted);
- the weekly tolerance question is counted from the user's first week on as well;
- announcements are left out: they go after every due reminder and are never late.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from reminderbot.config import Settings
from reminderbot.db.models import (
    ANNOUNCEMENT_KIND,
    Schedule,
    ScheduleKind,
    ScheduleState,
    User,
    UserStatus,
)
from reminderbot.preferences import rule_of
from reminderbot.ratelimit import overall_per_second
from reminderbot.schedule import LATE_LIMIT, WakingWindow, next_due
from reminderbot.spread import SpreadPlan, base_load, plan_spreads, stretch_load

HORIZON = timedelta(hours=24)
_MINUTE = timedelta(minutes=1)
_TICK = timedelta(microseconds=1)


def limit_per_minute(settings: Settings) -> int:
    """The send budget a minute the forecast is held against: CAPACITY_LIMIT_PER_MINUTE when
    set, else Telegram's limit (30 a second, or 1,000 with TELEGRAM_PAID_BROADCAST)."""
    if settings.capacity_limit_per_minute is not None:
        return settings.capacity_limit_per_minute
    return overall_per_second(settings.telegram_paid_broadcast) * 60


@dataclass(frozen=True)
class Group:
    """Rows that send alike: recurring rows with one rule, zone and window, or one-shot rows
    due in one minute (``due_minute``)."""

    kind: str
    count: int
    every_hours: int | None = None
    at_time: time | None = None
    weekday: int | None = None
    zone: str = "UTC"
    window: WakingWindow = field(default_factory=WakingWindow)
    due_minute: datetime | None = None


def _minute_of(column: SQLColumnExpression[datetime | None], dialect: str) -> ColumnElement[str]:
    """The minute of a timestamp column as ``YYYY-MM-DD HH:MM`` text, in SQL."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24:MI")
    return func.strftime("%Y-%m-%d %H:%M", column)


async def read_groups(session: AsyncSession, now: datetime, default_zone: str) -> list[Group]:
    """The rows that will send in the next 24 hours, grouped (one aggregate query)."""
    dialect = session.get_bind().dialect.name
    due_minute = case(
        (Schedule.once.is_(True), _minute_of(Schedule.next_due_at, dialect)), else_=literal(None)
    )
    # The tolerance question's weekday matters; the other recurring kinds have none.
    keys = (Schedule.kind, Schedule.every_hours, Schedule.at_time, Schedule.weekday,
            User.timezone, User.wake_start, User.wake_end, due_minute)
    query = (
        select(*keys, func.count())
        .join(User, User.id == Schedule.user_id)
        .where(
            Schedule.state == ScheduleState.ON,
            User.status == UserStatus.ACTIVE,
            Schedule.kind != ANNOUNCEMENT_KIND,
            Schedule.next_due_at.is_not(None),
            Schedule.next_due_at < now + HORIZON,
        )
        .group_by(*keys)
    )
    groups = []
    for kind, every, at, weekday, zone, start, end, minute, count in await session.execute(query):
        groups.append(Group(
            kind=kind, count=count, every_hours=every, at_time=at, weekday=weekday,
            zone=zone or default_zone, window=WakingWindow(start, end),
            due_minute=(datetime.strptime(minute, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
                        if minute is not None else None),
        ))
    return groups


def slots_of(group: Group, start: datetime, end: datetime) -> list[datetime]:
    """The UTC slots of a recurring group's rule in ``[start, end)``."""
    row = Schedule(kind=group.kind, every_hours=group.every_hours, at_time=group.at_time,
                   weekday=group.weekday)
    rule, zone = rule_of(row), ZoneInfo(group.zone)
    found: list[datetime] = []
    after = start - _TICK
    while True:
        after = next_due(rule, zone, group.window, timedelta(0), after)
        if after >= end:
            return found
        found.append(after)


@dataclass(frozen=True)
class Demand:
    """What the groups ask for: users per hydration slot, and every other send per minute."""

    hydration: dict[datetime, int]
    fixed: dict[datetime, int]


def project(groups: Iterable[Group], start: datetime, base_minutes: int) -> Demand:
    """Each group's sends in ``[start, start + 24 h)``: hydration by slot, the rest by minute
    (check-ins and the tolerance question with the base spread, snoozes where they are due)."""
    hydration: Counter[datetime] = Counter()
    fixed: Counter[datetime] = Counter()
    for group in groups:
        if group.due_minute is not None:
            fixed[group.due_minute] += group.count
            continue
        for slot in slots_of(group, start, start + HORIZON):
            if group.kind == ScheduleKind.HYDRATION:
                hydration[slot] += group.count
            else:
                for minute, amount in base_load(group.count, slot, base_minutes):
                    fixed[minute] += amount
    return Demand(dict(hydration), dict(fixed))


def per_minute(demand: Demand, plan: SpreadPlan) -> dict[datetime, int]:
    """Sends due per UTC minute when hydration follows ``plan`` (an empty plan: as spread today)."""
    minutes: Counter[datetime] = Counter(demand.fixed)
    for slot, count in demand.hydration.items():
        stretch = plan.stretches.get(slot.hour * 60 + slot.minute)
        spread = (stretch_load(count, slot, stretch) if stretch is not None
                  else base_load(count, slot, plan.base_minutes))
        for minute, amount in spread:
            minutes[minute] += amount
    return dict(minutes)


# --- the arithmetic: pure ------------------------------------------------------------------


def peak_minutes(minutes: Mapping[datetime, int], top: int = 5) -> list[tuple[datetime, int]]:
    """The ``top`` busiest minutes, busiest first (earlier first among equals)."""
    return sorted(minutes.items(), key=lambda item: (-item[1], item[0]))[:top]


def headroom(minutes: Mapping[datetime, int], limit: int) -> int:
    """The limit less the busiest minute (negative: over capacity)."""
    return limit - max(minutes.values(), default=0)


def minutes_over(minutes: Mapping[datetime, int], limit: int) -> int:
    """How many minutes ask for more than the limit."""
    return sum(1 for count in minutes.values() if count > limit)


@dataclass
class Backlog:
    """A stretch of minutes in which sends queue up behind the limit."""

    start: datetime  # the first minute with more waiting than the limit
    due: int = 0  # sends due from then until the queue is empty again
    late: int = 0  # sent in a later minute than the one they were due in
    skipped: int = 0  # more than 30 minutes late: the dispatcher skips them
    worst: timedelta = timedelta(0)  # the longest wait of a sent one


def backlogs(minutes: Mapping[datetime, int], limit: int) -> list[Backlog]:
    """Run the sends through a queue that sends ``limit`` a minute, oldest first, and drops
    what is more than 30 minutes late (as the dispatcher does); every queue that built up."""
    found: list[Backlog] = []
    queue: deque[tuple[datetime, int]] = deque()  # (due minute, how many)
    current: Backlog | None = None
    moment, last = min(minutes, default=None), max(minutes, default=None)
    while moment is not None and last is not None and (moment <= last or queue):
        arriving = minutes.get(moment, 0)
        if arriving:
            queue.append((moment, arriving))
        if current is None and sum(count for _, count in queue) > limit:
            current = Backlog(moment)
        if current is not None:
            current.due += arriving
        budget = limit
        while queue and budget:
            due_at, count = queue.popleft()
            wait = moment - due_at
            if wait > LATE_LIMIT:
                if current is not None:
                    current.skipped += count
                continue
            sent = min(budget, count)
            budget -= sent
            if sent < count:
                queue.appendleft((due_at, count - sent))
            if current is not None and wait > timedelta(0):
                current.late += sent
                current.worst = max(current.worst, wait)
        if current is not None and not queue:
            found.append(current)
            current = None
        moment += _MINUTE
    return found


@dataclass(frozen=True)
class Forecast:
    """The next 24 hours' load from ``start``, as spread today and with the adaptive spread."""

    start: datetime
    limit: int  # sends a minute
    demand: Demand
    plan: SpreadPlan

    @property
    def today(self) -> dict[datetime, int]:
        """Sends due per minute with every slot at its base spread."""
        return per_minute(self.demand, SpreadPlan(self.plan.base_minutes))

    @property
    def planned(self) -> dict[datetime, int]:
        """Sends due per minute with the adaptive spread."""
        return per_minute(self.demand, self.plan)

    @property
    def total(self) -> int:
        """Every send due in the 24 hours."""
        return sum(self.demand.hydration.values()) + sum(self.demand.fixed.values())


def forecast_of(demand: Demand, start: datetime, base_minutes: int, limit: int) -> Forecast:
    """The forecast, with the adaptive spread planned for the slots over capacity."""
    plan = plan_spreads(demand.hydration, demand.fixed, base_minutes, limit)
    return Forecast(start, limit, demand, plan)


async def read_forecast(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime,
    limit: int | None = None,
) -> Forecast:
    """The forecast from the database (one query), against ``limit`` or the settings' one."""
    async with sessions() as session:
        groups = await read_groups(session, now, settings.default_timezone)
    demand = project(groups, now, settings.reminder_spread_minutes)
    return forecast_of(demand, now, settings.reminder_spread_minutes,
                       limit if limit is not None else limit_per_minute(settings))

