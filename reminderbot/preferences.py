"""The one owner of a user's preferences: it validates them, stores them and re-plans the rows.

Zone, waking window, hydration frequency, check-in time, the weekly tolerance question,
language and discreet mode are changed only here, each change in the caller's transaction
together with the re-plan of every recurring row, so the very next reminder follows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reminderbot.db.models import Schedule, ScheduleKind, ScheduleState, User
from reminderbot.schedule import (
    Daily,
    Hydration,
    Rule,
    WakingWindow,
    Weekly,
    next_due,
    slot_of,
    spread_offset,
)
from reminderbot.spread import SpreadPlan, stretched_due, stretched_slot

DEFAULT_EVERY_HOURS = 3
DEFAULT_CHECKIN_AT = time(10, 0)
HYDRATION_CHOICES = (1, 2, 3, 4)
# A catalog language: a folder of messages/ (which ones exist is the catalog's business).
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
# The tolerance question asks about "the past week": never before a week of reminders.
TOLERANCE_FIRST_AFTER = timedelta(days=6)
# It follows the check-in by a minute, so the two arrive in that order.
TOLERANCE_AFTER_CHECKIN = timedelta(minutes=1)
RECURRING_KINDS = (ScheduleKind.HYDRATION, ScheduleKind.CHECKIN, ScheduleKind.TOLERANCE)
_TICK = timedelta(microseconds=1)


class PreferenceError(ValueError):
    """A preference value the bot cannot accept; ``reason`` is a short code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Planner:
    """The operator's defaults that every user's plan depends on."""

    default_zone: str
    spread_minutes: int
    # Hydration slots over capacity, spread wider (reminderbot.capacity); None: never.
    spreads: SpreadPlan | None = None

    def zone(self, user: User) -> ZoneInfo:
        """The user's zone, or the operator's default until they set theirs."""
        return ZoneInfo(user.timezone or self.default_zone)

    def offset(self, user: User) -> timedelta:
        """The user's stable spread offset."""
        return spread_offset(user.telegram_user_id, self.spread_minutes)

    def due_after(
        self, row: Schedule, user: User, after: datetime, last_slot: datetime | None = None
    ) -> datetime:
        """When recurring ``row`` is next due after ``after`` (UTC).

        The slot comes after ``last_slot`` (by default the row's last slot sent), so that no
        re-plan sends one wall-clock slot twice.
        """
        if row.kind == ScheduleKind.TOLERANCE and user.consented_at is not None:
            after = max(after, user.consented_at + TOLERANCE_FIRST_AFTER)
        if self.spreads is not None and self.spreads.stretches and _spreads(row):
            return stretched_due(
                self.spreads, user.telegram_user_id, rule_of(row), self.zone(user),
                WakingWindow(user.wake_start, user.wake_end), after,
                last_slot if last_slot is not None else row.last_slot_local,
            )
        return next_due(
            rule_of(row),
            self.zone(user),
            WakingWindow(user.wake_start, user.wake_end),
            self.offset(user),
            after,
            last_slot if last_slot is not None else row.last_slot_local,
        )

    def slot_of(self, row: Schedule, user: User) -> datetime | None:
        """The local wall-clock slot the row's current due time stands for."""
        if row.next_due_at is None:
            return None
        slot = slot_of(row.next_due_at, self.offset(user), self.zone(user))
        if self.spreads is None or not _spreads(row) or self._on_rule(row, user, slot):
            return slot
        # Planned within a stretch: the one slot of the rule that stretch can stand for.
        window = WakingWindow(user.wake_start, user.wake_end)
        stretched = stretched_slot(self.spreads, rule_of(row), self.zone(user), window,
                                   row.next_due_at)
        return stretched if stretched is not None else slot

    def _on_rule(self, row: Schedule, user: User, slot: datetime) -> bool:
        """Whether the local wall time ``slot`` is one of the row's rule slots."""
        zone = self.zone(user)
        at = slot.replace(tzinfo=zone).astimezone(UTC)
        window = WakingWindow(user.wake_start, user.wake_end)
        return next_due(rule_of(row), zone, window, timedelta(0), at - _TICK) == at


def _spreads(row: Schedule) -> bool:
    """Whether the adaptive spread moves this row: regular water reminders only."""
    return row.kind == ScheduleKind.HYDRATION and not row.once


def rule_of(row: Schedule) -> Rule:
    """The schedule rule a recurring row describes."""
    if row.kind == ScheduleKind.HYDRATION:
        return Hydration(row.every_hours or DEFAULT_EVERY_HOURS)
    at = row.at_time or DEFAULT_CHECKIN_AT
    if row.kind == ScheduleKind.TOLERANCE:
        shifted = datetime.combine(datetime.min, at) + TOLERANCE_AFTER_CHECKIN
        return Weekly(row.weekday or 0, shifted.time())
    return Daily(at)


@dataclass(frozen=True)
class Preferences:
    """What /settings shows: every preference with its current value."""

    zone: ZoneInfo
    zone_is_default: bool
    window: WakingWindow
    every_hours: int | None  # None: hydration reminders are off
    checkin_at: time | None  # None: the daily check-in is off
    tolerance: bool
    language: str
    discreet: bool


@dataclass(frozen=True)
class Change:
    """What to change; a field left as None stays as it is."""

    zone: str | None = None
    window: WakingWindow | None = None
    every_hours: int | None = None  # 0 turns hydration reminders off
    checkin_at: time | None = None  # also turns the check-in on
    checkin_on: bool | None = None
    tolerance_on: bool | None = None
    language: str | None = None
    discreet: bool | None = None  # what the bot sends on its own names no substance or symptom


async def recurring_rows(session: AsyncSession, user: User) -> dict[str, Schedule]:
    """The user's recurring rows by kind, created with the defaults where missing."""
    rows = {
        row.kind: row
        for row in await session.scalars(
            select(Schedule).where(Schedule.user_id == user.id, Schedule.once.is_(False))
        )
    }
    for kind in RECURRING_KINDS:
        if kind not in rows:
            rows[kind] = Schedule(
                user_id=user.id,
                kind=kind,
                once=False,
                state=ScheduleState.ON,
                every_hours=DEFAULT_EVERY_HOURS if kind == ScheduleKind.HYDRATION else None,
                at_time=None if kind == ScheduleKind.HYDRATION else DEFAULT_CHECKIN_AT,
                weekday=None,
                sent_count=0,
                skipped_count=0,
            )
            session.add(rows[kind])
    return rows


def preferences_of(user: User, rows: dict[str, Schedule], planner: Planner) -> Preferences:
    """The user's preferences as stored."""
    hydration, checkin = rows[ScheduleKind.HYDRATION], rows[ScheduleKind.CHECKIN]
    return Preferences(
        zone=planner.zone(user),
        zone_is_default=user.timezone is None,
        window=WakingWindow(user.wake_start, user.wake_end),
        every_hours=hydration.every_hours if hydration.state == ScheduleState.ON else None,
        checkin_at=checkin.at_time if checkin.state == ScheduleState.ON else None,
        tolerance=rows[ScheduleKind.TOLERANCE].state == ScheduleState.ON,
        language=user.language,
        discreet=bool(user.discreet),
    )


def replan(user: User, rows: dict[str, Schedule], planner: Planner, now: datetime) -> None:
    """Set every recurring row's next due time from ``now`` (or the end of a timed pause)."""
    start = max(now, user.paused_until) if user.paused_until is not None else now
    for row in rows.values():
        row.next_due_at = planner.due_after(row, user, start)


def _validate(change: Change) -> None:
    if change.zone is not None:
        try:
            ZoneInfo(change.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PreferenceError("zone") from None
    if change.window is not None and change.window.start == change.window.end:
        raise PreferenceError("window")
    if change.every_hours is not None and change.every_hours not in (0, *HYDRATION_CHOICES):
        raise PreferenceError("every_hours")
    if change.language is not None and not _LANGUAGE_CODE.fullmatch(change.language):
        raise PreferenceError("language")


async def change_preferences(
    session: AsyncSession, user: User, change: Change, planner: Planner, now: datetime
) -> Preferences:
    """Validate and store ``change``, then re-plan the user's rows, in the caller's transaction.

    Raises ``PreferenceError`` before anything is written when a value is not acceptable.
    """
    _validate(change)
    rows = await recurring_rows(session, user)
    if change.zone is not None:
        user.timezone = change.zone
    if change.window is not None:
        user.wake_start, user.wake_end = change.window.start, change.window.end
    hydration, checkin = rows[ScheduleKind.HYDRATION], rows[ScheduleKind.CHECKIN]
    tolerance = rows[ScheduleKind.TOLERANCE]
    if change.every_hours is not None:
        if change.every_hours == 0:
            hydration.state = ScheduleState.OFF
        else:
            hydration.state, hydration.every_hours = ScheduleState.ON, change.every_hours
    if change.checkin_at is not None:
        checkin.at_time = tolerance.at_time = change.checkin_at
        checkin.state = ScheduleState.ON
    if change.checkin_on is not None:
        checkin.state = ScheduleState.ON if change.checkin_on else ScheduleState.OFF
    if change.tolerance_on is not None:
        tolerance.state = ScheduleState.ON if change.tolerance_on else ScheduleState.OFF
    if change.language is not None:
        user.language = change.language
    if change.discreet is not None:
        user.discreet = change.discreet
    replan(user, rows, planner, now)
    await session.flush()
    return preferences_of(user, rows, planner)


async def drop_one_shots(session: AsyncSession, user: User) -> None:
    """Cancel the user's pending one-shot rows (a snooze), as /stop and /pause do."""
    await session.execute(
        update(Schedule)
        .where(
            Schedule.user_id == user.id,
            Schedule.once.is_(True),
            Schedule.state == ScheduleState.ON,
        )
        .values(state=ScheduleState.DONE)
    )
