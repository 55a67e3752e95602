"""The after-use hydration plan ("I just took some", /took): water nudges for the next hours.

A plan is up to ``PLAN_NUDGES`` one-shot schedule rows of kind ``plan``, one every
``PLAN_INTERVAL_MINUTES`` from the start, only those inside the user's waking window; the
dispatcher claims and sends them like any reminder. One more row (kind ``plan_start``, never
sent: its state is ``done``) records when the plan started, the only thing stored about it:
nothing about amount or product. The start decides which morning's check-in asks about a
next-day headache; the nudges make a regular water reminder close to one of them skip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reminderbot.db.models import Schedule, ScheduleKind, ScheduleState, User
from reminderbot.preferences import Planner
from reminderbot.schedule import WakingWindow

# The row that records when a plan started: never claimed, so not a ScheduleKind.
PLAN_START_KIND = "plan_start"
# A regular water reminder this close to a plan nudge (before or after it) is skipped.
NEAR_NUDGE = timedelta(minutes=45)
# How far back the dispatcher looks for plan starts: a day and a half covers "the morning after".
START_LOOKBACK = timedelta(hours=48)
# Plan rows older than this are dropped when a new plan starts (nothing reads them any more).
FORGOTTEN_AFTER = START_LOOKBACK


@dataclass(frozen=True)
class StartedPlan:
    """A plan just started: when, and when its nudges come (UTC; none outside waking hours)."""

    started_at: datetime
    nudges: tuple[datetime, ...]


@dataclass(frozen=True)
class PlanTimes:
    """What the dispatcher knows of a user's plans when it claims their reminders."""

    # Plan nudges still to come or already sent (a dropped one is not here).
    nudges: tuple[datetime, ...] = ()
    starts: tuple[datetime, ...] = ()


NO_PLAN = PlanTimes()


def in_window(local: time, window: WakingWindow) -> bool:
    """Whether a local time of day is inside the waking window (both ends included; the window
    may wrap past midnight)."""
    if window.start <= window.end:
        return window.start <= local <= window.end
    return local >= window.start or local <= window.end


def nudge_times(
    start: datetime, zone: ZoneInfo, window: WakingWindow, count: int, interval: timedelta
) -> tuple[datetime, ...]:
    """The nudges of a plan started at ``start``: every ``interval`` after it, ``count`` of them,
    keeping those whose local time falls inside the waking window."""
    times = (start + interval * k for k in range(1, count + 1))
    return tuple(t for t in times if in_window(t.astimezone(zone).time(), window))


def waking_day(moment: datetime, zone: ZoneInfo, window: WakingWindow) -> date:
    """The day ``moment`` belongs to for a person: before their waking hours begin, it is still
    the night of the day before."""
    local = moment.astimezone(zone)
    if local.time() < window.start:
        return local.date() - timedelta(days=1)
    return local.date()


def asks_about_headache(
    checkin_due: datetime, starts: Iterable[datetime], zone: ZoneInfo, window: WakingWindow
) -> bool:
    """Whether the check-in due at ``checkin_due`` is the morning after a plan's day."""
    day = checkin_due.astimezone(zone).date()
    return any(
        start < checkin_due and waking_day(start, zone, window) + timedelta(days=1) == day
        for start in starts
    )


def near_a_nudge(due: datetime, plan: PlanTimes) -> bool:
    """Whether a reminder due at ``due`` falls within 45 minutes of one of the plan's nudges."""
    return any(abs(nudge - due) <= NEAR_NUDGE for nudge in plan.nudges)


def nudge_number(due: datetime, plan: PlanTimes, interval: timedelta) -> int:
    """Which nudge of its plan (0 for the first) a plan row due at ``due`` is."""
    started = [start for start in plan.starts if start < due]
    if not started:
        return 0
    return max(0, round((due - max(started)) / interval) - 1)


async def start_plan(
    session: AsyncSession,
    user: User,
    now: datetime,
    planner: Planner,
    *,
    count: int,
    interval: timedelta,
) -> StartedPlan:
    """Start a plan at ``now`` in the caller's transaction; it replaces the running one.

    The running plan's nudges still to come are dropped. An earlier start of the same day is
    dropped too (the new one stands for that day's check-in question), and so is anything older
    than ``FORGOTTEN_AFTER``; so a user has a handful of plan rows at most.
    """
    zone = planner.zone(user)
    window = WakingWindow(user.wake_start, user.wake_end)
    today = waking_day(now, zone, window)
    old = (
        await session.execute(
            select(Schedule.id, Schedule.kind, Schedule.state, Schedule.next_due_at).where(
                Schedule.user_id == user.id,
                Schedule.kind.in_((ScheduleKind.PLAN, PLAN_START_KIND)),
            )
        )
    ).tuples().all()
    dropped = [
        row_id
        for row_id, kind, state, due in old
        if due is None
        or due < now - FORGOTTEN_AFTER
        or (kind == ScheduleKind.PLAN and state == ScheduleState.ON)
        or (kind == PLAN_START_KIND and waking_day(due, zone, window) == today)
    ]
    if dropped:
        await session.execute(
            delete(Schedule)
            .where(Schedule.id.in_(dropped))
            .execution_options(synchronize_session=False)
        )
    nudges = nudge_times(now, zone, window, count, interval)
    session.add(_row(user, PLAN_START_KIND, now, ScheduleState.DONE))
    session.add_all(_row(user, ScheduleKind.PLAN, at, ScheduleState.ON) for at in nudges)
    await session.flush()
    return StartedPlan(now, nudges)


def _row(user: User, kind: str, at: datetime, state: str) -> Schedule:
    return Schedule(
        user_id=user.id, kind=kind, once=True, state=state, next_due_at=at,
        sent_count=0, skipped_count=0,
    )


async def plan_times(
    session: AsyncSession, user_ids: Iterable[int], since: datetime, until: datetime
) -> dict[int, PlanTimes]:
    """The plan nudges and starts between ``since`` and ``until`` of each of ``user_ids``, in
    one query (the dispatcher asks once per claimed batch)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Schedule.user_id, Schedule.kind, Schedule.next_due_at).where(
            Schedule.user_id.in_(ids),
            Schedule.kind.in_((ScheduleKind.PLAN, PLAN_START_KIND)),
            Schedule.next_due_at >= since,
            Schedule.next_due_at <= until,
            or_(
                Schedule.kind == PLAN_START_KIND,
                Schedule.state == ScheduleState.ON,
                Schedule.last_sent_at.is_not(None),
            ),
        )
    )
    nudges: dict[int, list[datetime]] = defaultdict(list)
    starts: dict[int, list[datetime]] = defaultdict(list)
    for user_id, kind, at in rows.tuples():
        if at is not None:
            (starts if kind == PLAN_START_KIND else nudges)[user_id].append(at)
    return {
        user_id: PlanTimes(tuple(sorted(nudges[user_id])), tuple(sorted(starts[user_id])))
        for user_id in nudges.keys() | starts.keys()
    }
