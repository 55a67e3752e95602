"""A user's opt-in state and schedules: consent, stop, and when each reminder is next due."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, time
from time import monotonic
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reminderbot.clock import Clock
from reminderbot.db.models import Schedule, ScheduleKind, User, UserStatus
from reminderbot.schedule import Daily, Hydration, Rule, WakingWindow, next_due, spread_offset

DEFAULT_HYDRATION = Hydration(every_hours=3)
DEFAULT_CHECKIN = Daily(at=time(10, 0))


@dataclass(frozen=True)
class Plan:
    """What a user's reminders look like right after they opt in."""

    zone: ZoneInfo
    first_hydration: datetime
    checkin_at: time
    every_hours: int
    window: WakingWindow


def rule_of(kind: str, every_hours: int | None, at_time: time | None) -> Rule:
    """The schedule rule a row describes."""
    if kind == ScheduleKind.HYDRATION:
        return Hydration(every_hours or DEFAULT_HYDRATION.every_hours)
    return Daily(at_time or DEFAULT_CHECKIN.at)


def due_after(
    schedule: Schedule, user: User, zone: ZoneInfo, spread_minutes: int, after: datetime
) -> datetime:
    """When ``schedule`` of ``user`` is next due after ``after`` (UTC)."""
    return next_due(
        rule_of(schedule.kind, schedule.every_hours, schedule.at_time),
        zone,
        WakingWindow(user.wake_start, user.wake_end),
        spread_offset(user.telegram_user_id, spread_minutes),
        after,
    )


async def find_user(session: AsyncSession, telegram_user_id: int) -> User | None:
    """The stored user for a Telegram user id, if they ever opted in."""
    found: User | None = await session.scalar(
        select(User).where(User.telegram_user_id == telegram_user_id)
    )
    return found


async def opt_in(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    chat_id: int,
    language_code: str | None,
    now: datetime,
    default_zone: str,
    spread_minutes: int,
) -> Plan:
    """Turn reminders on (first time or after /stop) and schedule each from ``now``."""
    user = await find_user(session, telegram_user_id)
    if user is None:
        user = User(telegram_user_id=telegram_user_id, chat_id=chat_id, created_at=now)
        user.wake_start, user.wake_end = WakingWindow().start, WakingWindow().end
        session.add(user)
    user.chat_id = chat_id
    user.language_code = language_code
    user.status = UserStatus.ACTIVE
    user.consented_at = now
    user.stopped_at = None
    await session.flush()
    rows = {
        row.kind: row
        for row in await session.scalars(select(Schedule).where(Schedule.user_id == user.id))
    }
    for kind, every_hours, at_time in (
        (ScheduleKind.HYDRATION, DEFAULT_HYDRATION.every_hours, None),
        (ScheduleKind.CHECKIN, None, DEFAULT_CHECKIN.at),
    ):
        if kind not in rows:
            rows[kind] = Schedule(
                user_id=user.id,
                kind=kind,
                every_hours=every_hours,
                at_time=at_time,
                sent_count=0,
                skipped_count=0,
            )
            session.add(rows[kind])
    zone = ZoneInfo(user.timezone or default_zone)
    for row in rows.values():
        row.next_due_at = due_after(row, user, zone, spread_minutes, now)
    hydration = rows[ScheduleKind.HYDRATION]
    first_hydration = hydration.next_due_at
    assert first_hydration is not None
    return Plan(
        zone=zone,
        first_hydration=first_hydration,
        checkin_at=rows[ScheduleKind.CHECKIN].at_time or DEFAULT_CHECKIN.at,
        every_hours=hydration.every_hours or DEFAULT_HYDRATION.every_hours,
        window=WakingWindow(user.wake_start, user.wake_end),
    )


async def stop(session: AsyncSession, telegram_user_id: int, now: datetime) -> int | None:
    """End every reminder of a user; return their row id, or None if nothing was running."""
    user = await find_user(session, telegram_user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        return None
    user.status = UserStatus.STOPPED
    user.stopped_at = now
    await session.execute(
        update(Schedule).where(Schedule.user_id == user.id).values(next_due_at=None)
    )
    return user.id


async def wait_for_sends_in_flight(
    sessions: async_sessionmaker[AsyncSession],
    user_id: int,
    clock: Clock,
    *,
    timeout: float = 10.0,
) -> None:
    """Wait until no dispatcher holds a live claim on the user's schedules.

    Called after /stop commits: a reminder claimed before the stop may still be on its way,
    and the confirmation must come after it, so that nothing arrives after the reply.
    """
    deadline = monotonic() + timeout
    while monotonic() < deadline:
        async with sessions() as session:
            busy = await session.scalar(
                select(func.count())
                .select_from(Schedule)
                .where(
                    Schedule.user_id == user_id,
                    Schedule.claimed_by.is_not(None),
                    Schedule.claimed_until > clock.now(),
                )
            )
        if not busy:
            return
        await asyncio.sleep(0.05)


def first_reminder_label(when: datetime, zone: ZoneInfo, now: datetime) -> str:
    """``HH:MM`` local, with the date in front when it is not today."""
    local = when.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
