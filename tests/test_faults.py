"""Telegram failing, through the stand-in, on SQLite and PostgreSQL: a 429 holds every sender,
server errors back off and give up, a user who is gone is stopped, an outage is ridden out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from reminderbot import telegramhttp
from reminderbot.clock import ManualClock
from reminderbot.db.models import (
    DeliveryCount,
    Schedule,
    ScheduleKind,
    StopReason,
    User,
    UserStatus,
)
from reminderbot.dispatch import RETRY_BACKOFF, RETRY_JITTER, ROW_ATTEMPTS, Outcome
from reminderbot.subscriptions import opt_in
from reminderbot.telegramhttp import ATTEMPTS, BACKOFF_SECONDS, JITTER, backoff
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from tests.conftest import START, BotUnderTest, bot_settings

NINE = START.replace(hour=9)
NOON = START.replace(hour=12)
WATER_BUTTON = "Done 💧"  # a water reminder's first button


@pytest.fixture
async def bot(
    api: BotAPIStandIn, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BotUnderTest]:
    """The bot, with the waits between a call's attempts cut to milliseconds (the waits of a
    reminder's row are in the bot's clock, which the tests move)."""
    monkeypatch.setattr(telegramhttp, "BACKOFF_SECONDS", 0.01)
    harness = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def people(bot: BotUnderTest, count: int) -> list[FakeUser]:
    """``count`` opted-in users (water at 09:00, 12:00, ...), straight into the database."""
    runtime = bot.dispatcher.runtime
    who = [FakeUser(id=610_000 + n, first_name=f"P{n}") for n in range(count)]
    async with runtime.sessions.begin() as session:
        for person in who:
            await opt_in(session, telegram_user_id=person.id, chat_id=person.id, language="en",
                         now=START, planner=runtime.planner)
    return who


def reminders(bot: BotUnderTest, person: FakeUser) -> int:
    return sum(m.button_texts()[:1] == [WATER_BUTTON] for m in bot.api.messages_to(person.id))


def sends_to(bot: BotUnderTest, person: FakeUser) -> list[int]:
    """The HTTP status of every sendMessage to the person's chat."""
    return [c.status for c in bot.api.calls
            if c.method == "sendMessage" and c.params.get("chat_id") == person.id]


async def water_row(bot: BotUnderTest, person: FakeUser) -> Schedule:
    async with bot.dispatcher.runtime.sessions() as session:
        row = await session.scalar(
            select(Schedule).join(User, User.id == Schedule.user_id).where(
                User.telegram_user_id == person.id, Schedule.kind == ScheduleKind.HYDRATION)
        )
    assert row is not None
    return row


async def counted(bot: BotUnderTest) -> dict[str, int]:
    """Today's delivery counts of water reminders by outcome (what `reminderbot stats` reads)."""
    async with bot.dispatcher.runtime.sessions() as session:
        rows = await session.execute(
            select(DeliveryCount.outcome, DeliveryCount.count)
            .where(DeliveryCount.kind == ScheduleKind.HYDRATION)
        )
    return {outcome: count for outcome, count in rows.tuples()}


def test_a_calls_retries_wait_longer_each_time_with_jitter() -> None:
    for attempt in (1, 2):
        base = BACKOFF_SECONDS * 2 ** (attempt - 1)
        waits = {backoff(attempt) for _ in range(50)}
        assert all(base * (1 - JITTER) <= wait <= base * (1 + JITTER) for wait in waits)
        assert len(waits) > 1  # not in step


async def test_a_429_holds_every_sender_then_everything_goes_once(bot: BotUnderTest) -> None:
    due = await people(bot, 6)
    wait = 2
    bot.api.fail_next("sendMessage", status=429, retry_after=wait)  # the first send of the tick
    tick = asyncio.create_task(bot.at(NINE))
    while not any(c.status == 429 for c in bot.api.calls):  # noqa: ASYNC110 (stand-in's log)
        await asyncio.sleep(0.01)
    [refused] = [c for c in bot.api.calls if c.status == 429]
    # A person writes during the wait: the reply waits too.
    asker = FakeUser(id=620_001)
    await bot.api.send_message(asker, "/help")
    report, _ = await tick
    [reply] = await bot.api.wait_for_messages(asker.id, 1)
    await bot.api.wait_until_idle(quiet=0.2)
    assert reply.plain_text.startswith("Commands")
    assert report.counts[Outcome.SENT] == 6 and report.claimed == 6
    assert [reminders(bot, person) for person in due] == [1] * 6  # all sent, none twice
    after = [c for c in bot.api.calls if c.method == "sendMessage" and c.at > refused.at]
    assert len(after) == 7  # six reminders (the refused one again) and the reply
    # Nothing reached Telegram during the wait (a send already on the wire comes back first).
    assert [c for c in after if refused.at + 0.2 < c.at < refused.at + wait] == []


async def test_server_errors_back_off_longer_each_time_then_count_as_failed(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    broken, *others = await people(bot, 3)
    bot.api.fail_next("sendMessage", status=500, chat_id=broken.id,
                      times=ATTEMPTS * ROW_ATTEMPTS)
    report, _ = await bot.at(NINE)
    assert report.counts[Outcome.RETRY] == 1 and report.counts[Outcome.SENT] == 2
    assert [reminders(bot, person) for person in others] == [1, 1]  # not held up
    waits = []
    for tried in range(2, ROW_ATTEMPTS + 1):
        row = await water_row(bot, broken)
        assert row.claimed_until is not None and row.next_due_at == NINE
        waits.append(row.claimed_until - bot.clock.now())
        report, _ = await bot.at(row.claimed_until)
        assert report.claimed == 0  # still waiting
        report, _ = await bot.at(row.claimed_until + timedelta(seconds=1))
        outcome = Outcome.RETRY if tried < ROW_ATTEMPTS else Outcome.FAILED
        assert report.counts[outcome] == 1 and report.claimed == 1
    for number, wait in enumerate(waits):  # 30 s, 60 s, 120 s, 240 s, each give or take 20 %
        base = RETRY_BACKOFF * 2**number
        assert base * (1 - RETRY_JITTER) <= wait <= base * (1 + RETRY_JITTER)
    assert sends_to(bot, broken) == [500] * ATTEMPTS * ROW_ATTEMPTS and reminders(bot, broken) == 0
    row = await water_row(bot, broken)
    assert (row.next_due_at, row.claimed_by, row.claimed_until) == (NOON, None, None)
    assert await counted(bot) == {"sent": 2, "retry": ROW_ATTEMPTS - 1, "failed": 1}
    gave_up = [r.getMessage() for r in caplog.records if "counted as failed" in r.getMessage()]
    assert gave_up == [f"reminder {row.id} not sent after {ROW_ATTEMPTS} tries (server_error): "
                       "counted as failed, moved on"]
    report, _ = await bot.at(NOON)  # the next slot goes as usual, to everyone
    assert report.counts[Outcome.SENT] == 3
    assert [reminders(bot, person) for person in (broken, *others)] == [1, 2, 2]


async def test_gone_users_are_stopped_and_another_400_stalls_nobody(bot: BotUnderTest) -> None:
    not_found, deactivated, blocked, too_long, fine = await people(bot, 5)
    bot.api.fail_next("sendMessage", status=400, description="Bad Request: chat not found",
                      chat_id=not_found.id)
    bot.api.fail_next("sendMessage", status=400, description="Bad Request: user is deactivated",
                      chat_id=deactivated.id)
    bot.api.block(blocked.id)
    bot.api.fail_next("sendMessage", status=400, description="Bad Request: message is too long",
                      chat_id=too_long.id)
    report, _ = await bot.at(NINE)
    assert (report.counts[Outcome.DEACTIVATED], report.counts[Outcome.FAILED],
            report.counts[Outcome.SENT]) == (3, 1, 1)
    async with bot.dispatcher.runtime.sessions() as session:
        users = {u.telegram_user_id: (u.status, u.stop_reason)
                 for u in await session.scalars(select(User))}
    stopped = (UserStatus.STOPPED, StopReason.BLOCKED)
    assert [users[p.id] for p in (not_found, deactivated, blocked)] == [stopped] * 3
    assert users[too_long.id] == users[fine.id] == (UserStatus.ACTIVE, None)
    report, _ = await bot.at(NOON)
    assert report.counts[Outcome.SENT] == 2 and report.counts[Outcome.DEACTIVATED] == 0
    # No more attempts for those who are gone, at noon or ever; the others go on.
    assert [sends_to(bot, p) for p in (not_found, deactivated, blocked)] == [[400], [400], [403]]
    assert [reminders(bot, p) for p in (too_long, fine)] == [1, 2]


async def test_two_minutes_without_telegram_are_ridden_out_and_late_ones_skipped(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    on_time, nearly_late = await people(bot, 2)
    async with bot.dispatcher.runtime.sessions.begin() as session:
        # Due 08:31: it passes 30 minutes late during the outage.
        await session.execute(
            update(Schedule).where(Schedule.id == (await water_row(bot, nearly_late)).id)
            .values(next_due_at=NINE - timedelta(minutes=29))
        )
    await bot.api.refuse_connections()
    totals = dict.fromkeys(Outcome, 0)
    try:
        # The long poll under way ends (the harness polls with a 1 s timeout) and no other
        # gets through; a message sent now waits at Telegram for the bot.
        await asyncio.sleep(1.5)
        await bot.api.send_message(on_time, "/help")
        for seconds in range(0, 121, 15):
            # A tick as the dispatch job runs it (the harness's would wait for the poll).
            bot.clock.set(NINE + timedelta(seconds=seconds))
            assert bot.application is not None
            report = await bot.dispatcher.tick(bot.application.bot)
            for outcome, count in report.counts.items():
                totals[outcome] += count
        assert bot.api.sent == []  # nothing got through
    finally:
        await bot.api.accept_connections()
    assert totals[Outcome.SKIPPED_LATE] == 1 and totals[Outcome.SENT] == 0
    assert totals[Outcome.RETRY] >= 3
    # Telegram is back: the bot fetches the waiting message and answers by itself...
    [reply] = await bot.api.wait_for_messages(on_time.id, 1, timeout=30)
    assert reply.plain_text.startswith("Commands")
    # ... and the reminder that waits goes when its retry comes.
    retry_at = await bot.dispatcher.earliest_due()
    assert retry_at is not None
    report, _ = await bot.at(max(retry_at, bot.clock.now()) + timedelta(seconds=1))
    assert report.counts[Outcome.SENT] == 1
    assert [reminders(bot, p) for p in (on_time, nearly_late)] == [1, 0]
    late = await water_row(bot, nearly_late)
    assert late.next_due_at == NOON and late.claimed_by is None
    counts = await counted(bot)
    assert (counts["sent"], counts["skipped_late"]) == (1, 1)
    assert not [r for r in caplog.records if r.exc_info is not None]  # no tracebacks
    assert logging.ERROR not in {r.levelno for r in caplog.records
                                 if r.name.startswith("reminderbot.dispatch")}
