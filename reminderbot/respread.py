"""The capacity job: forecast the next 24 hours, plan the adaptive spread, re-plan the rows.

Every ``INTERVAL`` (and at start-up) the bot reads the forecast (``capacity``), plans the
stretches of the hydration slots over capacity (``spread``) and gives the plan to every
later re-plan through ``Runtime.spreads``. The rows of a slot whose stretch changed are
re-planned at once when the slot is more than an hour away; nearer slots keep the due times
they have (moving them could put a due time in the past) and follow the plan from their
next occurrence on. Every replica computes the same plan from the same rows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, or_, select, update

from reminderbot.capacity import Forecast, limit_per_minute, read_forecast
from reminderbot.db.models import Schedule, ScheduleKind, ScheduleState, User, UserStatus
from reminderbot.runtime import Runtime
from reminderbot.spread import SLOT_SPACING, SpreadPlan, Stretch

log = logging.getLogger(__name__)

# How often the forecast and the plan are worked out again.
INTERVAL = timedelta(minutes=15)
# Rows are read and re-planned this many at a time, one transaction each.
_CHUNK = 1000


def changed_slots(old: SpreadPlan | None, new: SpreadPlan) -> set[int]:
    """The UTC minutes of the day whose stretch differs between two plans."""
    before: dict[int, Stretch] = dict(old.stretches) if old is not None else {}
    after = dict(new.stretches)
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def next_occurrence(minute: int, now: datetime) -> datetime:
    """The first moment at UTC minute-of-day ``minute`` at or after ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    moment = day + timedelta(minutes=minute)
    return moment if moment >= now else moment + timedelta(days=1)


async def replan_slots(runtime: Runtime, slots: set[int], now: datetime) -> int:
    """Re-plan the hydration rows due around the given slots (more than an hour away) with
    the runtime's plan; a row keeps its slot or is left alone. Return how many moved."""
    moved = 0
    for minute in sorted(slots):
        at = next_occurrence(minute, now)
        if at - now > SLOT_SPACING:
            moved += await _replan_around(runtime, at, now)
    return moved


async def _replan_around(runtime: Runtime, at: datetime, now: datetime) -> int:
    """Re-plan the hydration rows due within an hour of ``at``, a page of rows at a time (so
    that memory stays flat however many users a slot has)."""
    planner = runtime.planner
    table = cast(Table, Schedule.__table__)
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.next_due_at == bindparam("b_old"),
            # A row being sent is left to the dispatcher.
            or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
        )
        .values(next_due_at=bindparam("b_new"))
    )
    moved, last_id = 0, 0
    while True:
        async with runtime.sessions() as session:
            rows = (await session.execute(
                select(Schedule, User)
                .join(User, User.id == Schedule.user_id)
                .where(
                    Schedule.id > last_id,
                    Schedule.kind == ScheduleKind.HYDRATION,
                    Schedule.once.is_(False),
                    Schedule.state == ScheduleState.ON,
                    User.status == UserStatus.ACTIVE,
                    Schedule.next_due_at >= at - SLOT_SPACING,
                    Schedule.next_due_at < at + SLOT_SPACING,
                )
                .order_by(Schedule.id)
                .limit(_CHUNK)
            )).tuples().all()
        if not rows:
            return moved
        last_id = rows[-1][0].id
        changes = []
        for row, user in rows:
            slot = planner.slot_of(row, user)
            due = planner.due_after(row, user, now)
            if due == row.next_due_at:
                continue
            probe = Schedule(kind=row.kind, once=False, every_hours=row.every_hours,
                             next_due_at=due)
            if planner.slot_of(probe, user) != slot:
                continue  # it would move to another slot: it stays as it is
            changes.append({"b_id": row.id, "b_old": row.next_due_at, "b_new": due})
        if changes:
            async with runtime.sessions.begin() as session:
                connection = await session.connection()
                await connection.execute(statement, changes)
        moved += len(changes)


async def refresh(runtime: Runtime, now: datetime) -> Forecast:
    """Forecast, plan, hand the plan to the runtime, re-plan the changed slots' rows."""
    settings = runtime.settings
    forecast = await read_forecast(runtime.sessions, settings, now, limit_per_minute(settings))
    changed = changed_slots(runtime.spreads, forecast.plan)
    runtime.spreads = forecast.plan
    moved = await replan_slots(runtime, changed, now) if changed else 0
    planned = forecast.planned
    peak = max(planned.values(), default=0)
    if changed:
        log.info("adaptive spread: %d slots stretched, %d rows re-planned; peak %d a minute "
                 "of %d", len(forecast.plan.stretches), moved, peak, forecast.limit)
    if peak > forecast.limit:
        log.warning("over capacity: %d reminders due in one minute, the limit is %d "
                    "(`reminderbot capacity` shows when)", peak, forecast.limit)
    return forecast
