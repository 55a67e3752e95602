"""Exactly once, as far as Telegram allows: a hiccup never becomes a double, and a send that
never happened is made again. Through the stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from reminderbot import telegramhttp
from reminderbot.clock import ManualClock
from reminderbot.db.models import Prompt, Schedule, ScheduleKind, User, UserStatus
from reminderbot.dispatch import LEASE, Outcome
from reminderbot.subscriptions import opt_in
from reminderbot.telegramhttp import ATTEMPTS
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, StandInEvent
from tests.conftest import START, BotUnderTest, _asyncpg_dsn, bot_settings

NINE = START.replace(hour=9)
HYDRATION_BUTTONS = ["Done 💧", "Snooze 30 min", "I just took some"]
# The bot gives up on an answer after READ_TIMEOUT; the stand-in answers LATE.
READ_TIMEOUT = 1.0
LATE = 2.0
TOO_LONG = "Bad Request: message is too long"
BAD_MARKUP = "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3"


@pytest.fixture
async def bot(
    api: BotAPIStandIn, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BotUnderTest]:
    """The bot with a short read timeout, so that a late answer is late within a test."""
    monkeypatch.setattr(telegramhttp, "READ_TIMEOUT", READ_TIMEOUT)
    harness = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def reminders(bot: BotUnderTest, user: FakeUser | None = None) -> int:
    """How many water reminders the user has received."""
    who = user or bot.user
    return sum(m.button_texts() == HYDRATION_BUTTONS for m in bot.api.messages_to(who.id))


def send_calls(bot: BotUnderTest, user: FakeUser | None = None) -> list[int]:
    """The HTTP status of every sendMessage the stand-in answered for the user's chat."""
    who = user or bot.user
    return [c.status for c in bot.api.calls
            if c.method == "sendMessage" and c.params.get("chat_id") == who.id]


async def stored(bot: BotUnderTest) -> User:
    async with bot.dispatcher.runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_user_id == bot.user.id))
    assert user is not None
    return user


async def hydration_row(bot: BotUnderTest) -> Schedule:
    async with bot.dispatcher.runtime.sessions() as session:
        row = await session.scalar(select(Schedule).where(Schedule.kind == ScheduleKind.HYDRATION))
    assert row is not None
    return row


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.exc_info is not None or r.levelno >= logging.ERROR]


async def test_a_late_answered_send_is_counted_once_and_never_repeated(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.opt_in()
    bot.api.answer_late("sendMessage", delay=LATE, chat_id=bot.user.id)
    report, [reminder] = await bot.at(NINE)
    assert report.counts[Outcome.UNCERTAIN] == 1 and report.counts[Outcome.SENT] == 0
    assert reminder.button_texts() == HYDRATION_BUTTONS  # Telegram did deliver it
    # Later ticks, also after the lease would have run out: nothing more.
    for later in (timedelta(seconds=40), timedelta(minutes=3), LEASE + timedelta(minutes=1)):
        report, sent = await bot.at(NINE + later)
        assert sent == [] and report.claimed == 0
    assert reminders(bot) == 1
    row = await hydration_row(bot)
    assert row.next_due_at == NINE.replace(hour=12) and row.claimed_by is None
    [line] = [r.getMessage() for r in caplog.records if "may have been sent" in r.getMessage()]
    assert line == (f"reminder {row.id} may have been sent (read_timeout): counted as sent, "
                    "not repeated")
    assert tracebacks(caplog) == []
    # The schedule goes on: the next slot comes once, on time.
    _, [noon] = await bot.at(NINE.replace(hour=12))
    assert noon.button_texts() == HYDRATION_BUTTONS and reminders(bot) == 2


async def test_a_connection_dropped_after_the_send_is_not_repeated(bot: BotUnderTest) -> None:
    await bot.opt_in()
    bot.api.drop_after("sendMessage", chat_id=bot.user.id)
    report, [reminder] = await bot.at(NINE)
    assert report.counts[Outcome.UNCERTAIN] == 1
    assert reminder.button_texts() == HYDRATION_BUTTONS
    for later in (timedelta(seconds=40), LEASE + timedelta(minutes=1)):
        report, sent = await bot.at(NINE + later)
        assert sent == [] and report.claimed == 0
    assert reminders(bot) == 1 and send_calls(bot)[-1] == 200


async def test_a_connection_refused_before_the_request_is_retried_and_sent_once(
    bot: BotUnderTest,
) -> None:
    await bot.opt_in()
    calls = len(send_calls(bot))
    await bot.api.refuse_connections()
    try:
        report, sent = await bot.at(NINE)  # every attempt of the tick is refused
    finally:
        await bot.api.accept_connections()
    assert report.counts[Outcome.RETRY] == 1 and sent == []
    assert len(send_calls(bot)) == calls  # nothing reached Telegram
    report, [reminder] = await bot.at(NINE + timedelta(minutes=1))
    assert report.counts[Outcome.SENT] == 1 and reminder.button_texts() == HYDRATION_BUTTONS
    report, sent = await bot.at(NINE + LEASE + timedelta(minutes=1))
    assert sent == [] and reminders(bot) == 1


async def test_a_short_outage_is_ridden_out_within_the_send(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.api.refuse_connections()
    tick = asyncio.create_task(bot.at(NINE))
    await asyncio.sleep(0.2)  # the first attempt is refused; the next comes 0.5 s later
    await bot.api.accept_connections()
    report, [reminder] = await tick
    assert report.counts[Outcome.SENT] == 1 and reminder.button_texts() == HYDRATION_BUTTONS
    assert send_calls(bot)[-1:] == [200] and reminders(bot) == 1


async def test_a_permanent_400_is_tried_once_per_slot(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.opt_in()
    before = len(send_calls(bot))
    bot.api.fail_next("sendMessage", status=400, description=TOO_LONG, chat_id=bot.user.id)
    report, sent = await bot.at(NINE)
    assert report.counts[Outcome.FAILED] == 1 and sent == []
    for later in (timedelta(seconds=40), timedelta(minutes=5), timedelta(minutes=31)):
        report, sent = await bot.at(NINE + later)
        assert report.claimed == 0 and sent == []
    assert send_calls(bot)[before:] == [400]  # once, not every 30 s
    row = await hydration_row(bot)
    assert row.next_due_at == NINE.replace(hour=12) and row.claimed_by is None
    refused = [r for r in caplog.records if "refused by Telegram" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in refused] == [
        (logging.WARNING, f"reminder {row.id} refused by Telegram (too_long): not retried, "
                          "moved on")
    ]
    assert tracebacks(caplog) == []
    _, [noon] = await bot.at(NINE.replace(hour=12))  # the next slot is sent as usual
    assert noon.button_texts() == HYDRATION_BUTTONS
    assert (await stored(bot)).failures_in_a_row == 0  # a sent one resets the count


async def test_three_refused_in_a_row_pause_that_user_only(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.opt_in()
    other = FakeUser(id=31337)
    await bot.opt_in_as(other)
    bot.api.fail_next("sendMessage", status=400, description=BAD_MARKUP, chat_id=bot.user.id,
                      times=3)
    slots = (NINE, START.replace(hour=10), START.replace(hour=12))  # water, check-in, water
    for number, slot in enumerate(slots, start=1):
        report, sent = await bot.at(slot)
        assert report.counts[Outcome.FAILED] == 1 and sent == []
        user = await stored(bot)
        assert user.status == (UserStatus.ACTIVE if number < 3 else UserStatus.PAUSED)
        assert user.failures_in_a_row == (number if number < 3 else 0)
    assert user.paused_until is None  # until /resume
    assert send_calls(bot)[-3:] == [400, 400, 400]
    paused = [r.getMessage() for r in caplog.records if "reminders paused" in r.getMessage()]
    assert len(paused) == 1 and paused[0].startswith("reminders paused: 3 refused in a row")
    # Nothing more is tried for them; the other user goes on.
    report, sent = await bot.at(START.replace(hour=15))
    assert sent == [] and report.counts[Outcome.SENT] == 1
    assert reminders(bot, other) == 3
    [resumed] = await bot.send("/resume")
    assert resumed.plain_text.startswith("Reminders are back on.")
    _, [evening] = await bot.at(START.replace(hour=18))
    assert evening.button_texts() == HYDRATION_BUTTONS
    assert tracebacks(caplog) == []


async def test_a_sent_reminder_between_refusals_resets_the_count(bot: BotUnderTest) -> None:
    await bot.opt_in()
    bot.api.fail_next("sendMessage", status=400, description=TOO_LONG, chat_id=bot.user.id,
                      times=2)
    await bot.at(NINE)
    await bot.at(START.replace(hour=10))
    _, [noon] = await bot.at(START.replace(hour=12))
    assert noon.button_texts() == HYDRATION_BUTTONS
    bot.api.fail_next("sendMessage", status=400, description=TOO_LONG, chat_id=bot.user.id)
    report, _ = await bot.at(START.replace(hour=15))
    assert report.counts[Outcome.FAILED] == 1
    user = await stored(bot)
    assert user.status == UserStatus.ACTIVE and user.failures_in_a_row == 1


async def test_chat_not_found_and_a_deactivated_account_stop_the_user(bot: BotUnderTest) -> None:
    await bot.opt_in()
    bot.api.fail_next("sendMessage", status=400, description="Bad Request: chat not found",
                      chat_id=bot.user.id)
    report, _ = await bot.at(NINE)
    assert report.counts[Outcome.DEACTIVATED] == 1
    assert (await stored(bot)).status == UserStatus.STOPPED
    other = FakeUser(id=4711)
    await bot.opt_in_as(other)
    bot.api.fail_next("sendMessage", status=403, description="Forbidden: user is deactivated",
                      chat_id=other.id)
    report, _ = await bot.at(START.replace(hour=12))
    assert report.counts[Outcome.DEACTIVATED] == 1 and report.counts[Outcome.SENT] == 0


async def test_a_reply_is_tried_again_after_a_server_error_and_arrives_once(
    bot: BotUnderTest,
) -> None:
    bot.api.fail_next("sendMessage", status=502, chat_id=bot.user.id)
    await bot.api.send_message(bot.user, "/help")
    [answer] = await bot.api.wait_for_messages(bot.user.id, 1)
    await bot.api.wait_until_idle(quiet=0.5)
    assert answer.plain_text.startswith("Commands") and len(bot.chat()) == 1
    assert send_calls(bot) == [502, 200]


async def test_a_reply_that_cannot_be_sent_is_logged_once_without_a_traceback(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    bot.api.fail_next("sendMessage", status=500, chat_id=bot.user.id, times=ATTEMPTS)
    await bot.api.send_message(bot.user, "/help")
    await bot.api.wait_until_idle(quiet=2.5)  # outlasts the backoff between attempts
    assert send_calls(bot) == [500] * ATTEMPTS and bot.chat() == []
    failed = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(failed) == 1 and "NetworkError" in failed[0].getMessage()
    assert tracebacks(caplog) == []
    # A late answer to a reply is not repeated either.
    bot.api.answer_late("sendMessage", delay=LATE, chat_id=bot.user.id)
    await bot.api.send_message(bot.user, "/help")
    await bot.api.wait_until_idle(quiet=2.5)
    [answer] = bot.chat()
    assert answer.plain_text.startswith("Commands")


async def test_a_403_on_a_reply_stops_the_user_without_a_traceback(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await bot.opt_in()
    bot.api.block(bot.user.id)  # blocked right after writing
    assert await bot.send("/help") == []
    user = await stored(bot)
    assert user.status == UserStatus.STOPPED and user.stop_reason == "blocked"
    assert tracebacks(caplog) == []
    assert [r.getMessage() for r in caplog.records if "refused by Telegram" in r.getMessage()
            or "was refused" in r.getMessage()] == [
        "an answer was refused by Telegram (blocked); user deactivated"
    ]
    report, _ = await bot.at(NINE)
    assert report.claimed == 0  # nothing more is even tried


async def test_a_killed_database_connection_mid_burst_loses_and_doubles_nothing(
    bot: BotUnderTest, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    runtime = bot.dispatcher.runtime
    people = [FakeUser(id=70_000 + n) for n in range(90)]
    async with runtime.sessions.begin() as session:
        for person in people:
            await opt_in(session, telegram_user_id=person.id, chat_id=person.id, language="en",
                         now=START, planner=runtime.planner)
    kills: list[asyncio.Task[None]] = []
    sent = 0

    async def kill_the_bots_connections() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(database_url))
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()

    def on_event(event: StandInEvent) -> None:
        nonlocal sent
        if event.kind == "sent":
            sent += 1
            if sent % 15 == 0:  # several times during the burst
                kills.append(asyncio.get_running_loop().create_task(kill_the_bots_connections()))

    bot.api.subscribe(on_event)
    try:
        await bot.at(NINE)
    except DBAPIError:
        # A read of the tick itself died with its connection: the job runs again next time,
        # and the rows that tick had claimed wait for their lease to end (below).
        pass
    await asyncio.gather(*kills)
    assert len(kills) >= 5
    # Whatever the tick could not finish is finished by the next ones (nothing is lost)...
    for later in (timedelta(minutes=1), LEASE + timedelta(minutes=1)):
        await bot.at(NINE + later)
    # ... and nobody got their 09:00 reminder twice.
    assert [reminders(bot, person) for person in people] == [1] * len(people)
    async with runtime.sessions() as session:
        rows = (await session.scalars(
            select(Schedule).where(Schedule.kind == ScheduleKind.HYDRATION)
        )).all()
        prompts = await session.scalar(select(func.count()).select_from(Prompt))
    assert {(row.next_due_at, row.claimed_by) for row in rows} == {(NINE.replace(hour=12), None)}
    assert prompts == len(people)  # every confirmed send recorded, its buttons count
