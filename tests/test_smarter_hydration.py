"""End to end: a regular water reminder is skipped within the hour after a logged glass."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from reminderbot.db.models import DeliveryCount, Schedule, ScheduleKind, User
from reminderbot.dispatch import Due, Outcome, drank_recently
from tests.conftest import START, BotUnderTest

NINE = START.replace(hour=9)


async def _hydration_row(bot: BotUnderTest) -> Schedule:
    async with bot.dispatcher.runtime.sessions() as session:
        row = await session.scalar(
            select(Schedule).where(Schedule.kind == ScheduleKind.HYDRATION, ~Schedule.once)
        )
    assert row is not None
    return row


async def test_a_glass_at_1130_skips_the_noon_reminder_not_the_next(bot: BotUnderTest) -> None:
    await bot.opt_in()
    _, [first] = await bot.at(NINE)
    await bot.at(NINE.replace(hour=11, minute=30))
    [thanks], _ = await bot.press(first, "Done 💧")
    assert thanks.plain_text == "Thanks. Glasses logged today: 1"
    async with bot.dispatcher.runtime.sessions() as session:
        user = await session.scalar(select(User))
    assert user is not None and user.last_glass_at == NINE.replace(hour=11, minute=30)

    report, skipped = await bot.at(NINE.replace(hour=12))
    assert skipped == []
    assert report.counts[Outcome.SKIPPED_GLASS] == 1 and report.claimed == 1
    row = await _hydration_row(bot)
    assert row.next_due_at == NINE.replace(hour=15)
    assert (row.sent_count, row.skipped_count) == (1, 1)

    report, [later] = await bot.at(NINE.replace(hour=15))
    assert report.counts[Outcome.SENT] == 1
    assert later.button_texts() == ["Done 💧", "Snooze 30 min", "I just took some"]
    async with bot.dispatcher.runtime.sessions() as session:
        counts = (await session.execute(
            select(DeliveryCount.kind, DeliveryCount.outcome, DeliveryCount.count)
            .where(DeliveryCount.kind == ScheduleKind.HYDRATION)
            .order_by(DeliveryCount.outcome)
        )).tuples().all()
    assert counts == [("hydration", "sent", 2), ("hydration", "skipped_glass", 1)]


async def test_a_glass_an_hour_before_does_not_skip(bot: BotUnderTest) -> None:
    await bot.opt_in()
    _, [first] = await bot.at(NINE)
    await bot.at(NINE.replace(hour=11))
    await bot.press(first, "Done 💧")
    report, [noon] = await bot.at(NINE.replace(hour=12))
    assert report.counts[Outcome.SENT] == 1
    assert noon.button_texts() == ["Done 💧", "Snooze 30 min", "I just took some"]


def _due(kind: str, once: bool, glass_minutes_before: int | None) -> Due:
    glass = None if glass_minutes_before is None else NINE - timedelta(minutes=glass_minutes_before)
    return Due(Schedule(kind=kind, once=once, next_due_at=NINE), User(last_glass_at=glass))


def test_only_a_regular_water_reminder_within_the_hour_is_skipped() -> None:
    assert drank_recently(_due(ScheduleKind.HYDRATION, False, 59))
    assert drank_recently(_due(ScheduleKind.HYDRATION, False, -5))  # pressed after it was due
    assert not drank_recently(_due(ScheduleKind.HYDRATION, False, 60))
    assert not drank_recently(_due(ScheduleKind.HYDRATION, False, None))
    # A snoozed reminder was asked for; check-ins are not about water.
    assert not drank_recently(_due(ScheduleKind.HYDRATION, True, 10))
    assert not drank_recently(_due(ScheduleKind.CHECKIN, False, 10))
    assert not drank_recently(_due(ScheduleKind.TOLERANCE, False, 10))
