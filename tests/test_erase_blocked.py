"""Blocked means gone: a user who blocked the bot is erased, in every table, after the grace
period, by the daily maintenance job (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import func, select

from reminderbot.clock import ManualClock
from reminderbot.db.models import Base, StopReason, User, UserStatus
from reminderbot.dispatch import Outcome
from reminderbot.maintenance import ERASE_LOCK, erase_blocked
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from tests.conftest import START, BotUnderTest, _asyncpg_dsn, bot_settings

NINE = START.replace(hour=9)
BLOCKER = FakeUser(id=777001, first_name="Blocker", language_code="en")
QUITTER = FakeUser(id=777002, first_name="Quitter", language_code="en")


async def rows_of(bot: BotUnderTest, telegram_user_id: int) -> dict[str, int]:
    """How many rows every table holds about one user (the users row included)."""
    async with bot.dispatcher.runtime.sessions() as session:
        user_id = await session.scalar(
            select(User.id).where(User.telegram_user_id == telegram_user_id)
        )
        counts = {}
        for table in Base.metadata.sorted_tables:
            if table.name == User.__tablename__:
                condition = table.c.telegram_user_id == telegram_user_id
            elif "user_id" in table.c:
                condition = table.c.user_id == user_id
            else:
                continue
            counts[table.name] = int(
                await session.scalar(select(func.count()).select_from(table).where(condition))
                or 0
            )
    return counts


async def run_maintenance(bot: BotUnderTest) -> None:
    """Run the application's daily maintenance job once, now."""
    assert bot.application is not None and bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("maintenance")
    await job.run(bot.application)


async def a_user_with_data_everywhere(bot: BotUnderTest, who: FakeUser) -> None:
    """Opt in, log a glass, answer a check-in and snooze: a row in every table with user_id."""
    await bot.opt_in_as(who)
    _, [reminder] = await bot.at(NINE, who)
    await bot.press(reminder, "Done 💧", who)
    _, [question] = await bot.at(NINE.replace(hour=10), who)
    await bot.press(question, "Headache", who)
    _, [noon] = await bot.at(NINE.replace(hour=12), who)
    await bot.press(noon, "Snooze 30 min", who)


async def test_a_blocked_user_is_erased_in_every_table_after_the_grace_period(
    bot: BotUnderTest,
) -> None:
    await a_user_with_data_everywhere(bot, BLOCKER)
    await bot.opt_in_as(QUITTER)
    await bot.send("/stop", QUITTER)
    kept = await rows_of(bot, BLOCKER.id)
    assert kept["users"] == 1 and kept["schedules"] == 4  # three recurring rows, the snooze
    assert kept["hydration_days"] == 1 and kept["checkin_answers"] == 1
    bot.api.block(BLOCKER.id)
    blocked_at = NINE.replace(hour=15)
    report, _ = await bot.at(blocked_at, BLOCKER)
    assert report.counts[Outcome.DEACTIVATED] == 1
    async with bot.dispatcher.runtime.sessions() as session:
        reasons = dict((await session.execute(select(User.telegram_user_id, User.stop_reason)))
                       .tuples().all())
    assert reasons == {BLOCKER.id: StopReason.BLOCKED, QUITTER.id: StopReason.USER}

    bot.clock.set(blocked_at + timedelta(days=30) - timedelta(seconds=1))
    await run_maintenance(bot)
    assert await rows_of(bot, BLOCKER.id) == kept  # still within the grace period

    bot.clock.set(blocked_at + timedelta(days=30))
    await run_maintenance(bot)
    assert await rows_of(bot, BLOCKER.id) == dict.fromkeys(kept, 0)
    # Someone who stopped by their own hand keeps their settings (and can /start again).
    quitter = await rows_of(bot, QUITTER.id)
    assert quitter["users"] == 1 and quitter["schedules"] == 3


async def test_a_user_who_comes_back_in_time_is_not_erased(bot: BotUnderTest) -> None:
    await bot.opt_in()
    bot.api.block(bot.user.id)
    await bot.at(NINE)
    bot.api.unblock(bot.user.id)
    bot.clock.set(NINE + timedelta(days=3))
    [offer] = await bot.send("/start")
    await bot.press(offer, "Yes, resume")
    bot.clock.set(NINE + timedelta(days=60))
    await run_maintenance(bot)
    async with bot.dispatcher.runtime.sessions() as session:
        user = await session.scalar(select(User))
    assert user is not None and user.status == UserStatus.ACTIVE and user.stop_reason is None


@pytest.fixture
async def keeping_bot(api: BotAPIStandIn, database_url: str) -> AsyncIterator[BotUnderTest]:
    """An operator who set ERASE_BLOCKED_AFTER_DAYS=0: nothing is erased."""
    harness = BotUnderTest(api, bot_settings(api, database_url, erase_blocked_after_days=0),
                           ManualClock(START), dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_zero_days_keeps_blocked_users(keeping_bot: BotUnderTest) -> None:
    await keeping_bot.opt_in()
    keeping_bot.api.block(keeping_bot.user.id)
    await keeping_bot.at(NINE)
    before = await rows_of(keeping_bot, keeping_bot.user.id)
    keeping_bot.clock.set(NINE + timedelta(days=400))
    await run_maintenance(keeping_bot)
    assert await rows_of(keeping_bot, keeping_bot.user.id) == before
    assert before["users"] == 1


async def test_the_job_runs_daily_and_never_piles_up(bot: BotUnderTest) -> None:
    assert bot.application is not None and bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("maintenance")
    assert job.job.trigger.interval == timedelta(days=1)
    assert job.job.coalesce is True and job.job.max_instances == 1


async def test_one_replica_at_a_time_on_postgresql(bot: BotUnderTest) -> None:
    if not bot.settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one process: no lock to take")
    await bot.opt_in()
    bot.api.block(bot.user.id)
    await bot.at(NINE)
    later = NINE + timedelta(days=31)
    sessions = bot.dispatcher.runtime.sessions
    other = await asyncpg.connect(_asyncpg_dsn(bot.settings.database_url))
    try:
        # Another replica is running the job: it holds the lock in its transaction.
        async with other.transaction():
            assert await other.fetchval("SELECT pg_try_advisory_xact_lock($1)", ERASE_LOCK)
            assert await erase_blocked(sessions, later, 30) is None
            assert (await rows_of(bot, bot.user.id))["users"] == 1
        # Its transaction ended: the next run does the work.
        assert await erase_blocked(sessions, later, 30) == 1
        assert (await rows_of(bot, bot.user.id))["users"] == 0
    finally:
        await other.close()
