"""Capacity: the forecast against the limit, `reminderbot capacity`, and the adaptive spread."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from reminderbot.app import RUNTIME_KEY
from reminderbot.capacity import (
    Group,
    backlogs,
    headroom,
    limit_per_minute,
    minutes_over,
    peak_minutes,
    per_minute,
    project,
)
from reminderbot.clock import ManualClock
from reminderbot.config import load_settings
from reminderbot.db.migrate import upgrade
from reminderbot.db.models import Schedule, ScheduleKind, ScheduleState, User
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.dispatch import Outcome
from reminderbot.preferences import Change, Planner, change_preferences
from reminderbot.respread import refresh
from reminderbot.runtime import Runtime
from reminderbot.schedule import Hydration, WakingWindow
from reminderbot.spread import SpreadPlan, Stretch, plan_spreads, stretched_due, stretched_slot
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from tests.conftest import BotUnderTest, bot_settings
from tests.test_operator import reminderbot

DAY = datetime(2026, 11, 25, tzinfo=UTC)
NINE = DAY.replace(hour=9)
M = timedelta(minutes=1)

# --- the arithmetic ------------------------------------------------------------------------


def test_peaks_headroom_and_minutes_over() -> None:
    minutes = {NINE: 120, NINE + M: 200, NINE + 2 * M: 200, NINE + 3 * M: 10}
    assert peak_minutes(minutes, 2) == [(NINE + M, 200), (NINE + 2 * M, 200)]
    assert headroom(minutes, 150) == -50
    assert minutes_over(minutes, 150) == 2
    assert headroom({}, 150) == 150


def test_a_queue_runs_late_then_skips_past_30_minutes() -> None:
    # 100 a minute for 10 minutes through 20 a minute: 50 minutes of sending.
    [backlog] = backlogs({NINE + i * M: 100 for i in range(10)}, 20)
    assert (backlog.start, backlog.due) == (NINE, 1000)
    # 09:00-09:06's go out within 30 minutes; of 09:07-09:09's only the first minute's worth
    # before they pass 30 minutes (skipping costs no send): 800 sent, 20 on time, 200 skipped.
    assert (backlog.late, backlog.skipped, backlog.worst) == (780, 200, 30 * M)
    assert backlogs({NINE: 20, NINE + M: 20}, 20) == []


def test_a_slot_that_fits_keeps_its_spread_one_over_capacity_is_stretched() -> None:
    fits = plan_spreads({NINE: 1000}, {}, 10, 1800)
    assert fits.stretches == {}
    # 2,000 at 09:00 against 100 a minute (90 usable): 13 minutes after the slot, then 10
    # before it (the earliest takes the 20 left).
    plan = plan_spreads({NINE: 2000}, {}, 10, 100)
    assert plan.stretches == {9 * 60: Stretch(lead=10, shares=(20, *[90] * 22))}
    # Check-ins keep their minutes (80 in each of 09:00-09:04); water takes what they leave.
    around = plan_spreads({NINE: 2000}, {NINE + i * M: 80 for i in range(5)}, 10, 100)
    assert around.stretches == {
        9 * 60: Stretch(lead=14, shares=(60, *[90] * 13, *[10] * 5, *[90] * 8))}


def test_stretched_offsets_are_stable_and_within_the_bounds() -> None:
    plan = SpreadPlan(10, {9 * 60: Stretch(lead=30, shares=(50,) * 43)})
    offsets = [plan.offset(user, NINE) for user in range(2000)]
    assert offsets == [plan.offset(user, NINE) for user in range(2000)]
    assert min(offsets) >= -30 * M and max(offsets) < 13 * M
    assert min(offsets) < -29 * M and max(offsets) > 12 * M  # the whole stretch is used
    # Another slot keeps the base spread.
    assert all(timedelta(0) <= plan.offset(u, NINE.replace(hour=12)) < 10 * M for u in range(99))


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_a_stretched_slot_is_sent_once_even_when_the_plan_changes(zone: str) -> None:
    """The dispatcher's steps: due, slot of the due, next due after it (from the send)."""
    tz, window, rule = ZoneInfo(zone), WakingWindow(), Hydration(3)
    slot = datetime(2026, 11, 25, 9, 0, tzinfo=tz).astimezone(UTC)
    key = slot.hour * 60 + slot.minute
    stretched = SpreadPlan(10, {key: Stretch(lead=47, shares=(10,) * 60)})
    for user in range(300):
        due = stretched_due(stretched, user, rule, tz, window, slot - 2 * 60 * M, None)
        assert slot - 47 * M <= due < slot + 13 * M
        sent = stretched_slot(stretched, rule, tz, window, due)
        assert sent == datetime(2026, 11, 25, 9, 0)
        # The plan changes meanwhile (the slot no longer stretched, or stretched otherwise).
        for plan in (SpreadPlan(10), SpreadPlan(10, {key: Stretch(5, (10,) * 18)}), stretched):
            planner = Planner(zone, 10, plan)
            row = Schedule(kind=ScheduleKind.HYDRATION, once=False, every_hours=3,
                           next_due_at=due)
            person = User(telegram_user_id=user, timezone=zone, wake_start=time(9),
                          wake_end=time(21))
            assert planner.slot_of(row, person) == sent
            following = planner.due_after(row, person, due - timedelta(microseconds=1), sent)
            assert following.astimezone(tz).hour == 12  # the next slot, never 09:00 again


def test_the_forecast_projects_every_slot_of_a_rule_and_spreads_it() -> None:
    water = Group(ScheduleKind.HYDRATION, 10, every_hours=3, zone="Asia/Kolkata")
    checkin = Group(ScheduleKind.CHECKIN, 20, at_time=time(10), zone="Asia/Kolkata")
    snoozed = Group(ScheduleKind.HYDRATION, 3, due_minute=NINE)
    demand = project([water, checkin, snoozed], DAY, 10)
    # Kolkata is UTC+05:30: 09:00, 12:00, ... 21:00 there; the check-in at 10:00 there.
    assert demand.hydration == {DAY.replace(hour=h, minute=30): 10 for h in (3, 6, 9, 12, 15)}
    assert demand.fixed == {NINE: 3, **{DAY.replace(hour=4, minute=30 + i): 2 for i in range(10)}}
    assert per_minute(demand, SpreadPlan(10))[DAY.replace(hour=3, minute=30)] == 1


def test_the_limit_is_telegrams_unless_set() -> None:
    assert limit_per_minute(load_settings(telegram_paid_broadcast=False)) == 1800
    assert limit_per_minute(load_settings(telegram_paid_broadcast=True)) == 60_000
    assert limit_per_minute(load_settings(capacity_limit_per_minute=40)) == 40


# --- reminderbot capacity -----------------------------------------------------------------


async def _seed(url: str, users: int) -> None:
    """``users`` users whose water reminders come once a day at 09:00 UTC (window 09-11),
    100 of them with the check-in at 10:00."""
    engine = make_engine(url)
    await upgrade(engine)
    planner = Planner("UTC", 10)
    now = DAY.replace(hour=8)
    try:
        async with make_sessionmaker(engine).begin() as session:
            people = [User(telegram_user_id=5000 + i, chat_id=5000 + i, created_at=now,
                           consented_at=now, wake_start=time(9), wake_end=time(11))
                      for i in range(users)]
            session.add_all(people)
            await session.flush()
            for i, person in enumerate(people):
                for kind in (ScheduleKind.HYDRATION, ScheduleKind.CHECKIN):
                    row = Schedule(
                        user_id=person.id, kind=kind, once=False, sent_count=0, skipped_count=0,
                        state=ScheduleState.ON if kind == ScheduleKind.HYDRATION or i < 100
                        else ScheduleState.OFF,
                        every_hours=3 if kind == ScheduleKind.HYDRATION else None,
                        at_time=time(10) if kind == ScheduleKind.CHECKIN else None,
                    )
                    # What Planner.due_after gives, without its cost 4,000 times.
                    slot = NINE if kind == ScheduleKind.HYDRATION else NINE.replace(hour=10)
                    row.next_due_at = slot + planner.offset(person)
                    session.add(row)
    finally:
        await engine.dispose()


CAPACITY = """\
Forecast for 24 hours from 2026-11-25 08:00 UTC: 2,100 reminders
Limit: 40 a minute (CAPACITY_LIMIT_PER_MINUTE)

Busiest minutes (UTC)   due  headroom
  2026-11-25 09:00    200      -160
  2026-11-25 09:01    200      -160
  2026-11-25 09:02    200      -160
  2026-11-25 09:03    200      -160
  2026-11-25 09:04    200      -160
Headroom at the busiest minute: -160 a minute; 10 minutes over the limit

As spread today: the queue from 2026-11-25 09:00 UTC is skipped in part: 2,000 due, \
1,560 late by up to 30 minutes, 400 skipped.
Adaptive spread: the 2026-11-25 09:00 UTC slot's 2,000 water reminders go out from 08:17 to 09:13.
With the adaptive spread: busiest minute 36 (headroom 4); none late, none skipped.
"""


def test_capacity_prints_the_peaks_the_headroom_and_what_runs_late(
    tmp_path: Path, database_url: str
) -> None:
    asyncio.run(_seed(database_url, 2000))
    env = {"DATABASE_URL": database_url, "CAPACITY_LIMIT_PER_MINUTE": "40",
           "REMINDER_SPREAD_MINUTES": "10"}
    result = reminderbot("capacity", "--at", "2026-11-25T08:00", cwd=tmp_path, **env)
    assert (result.returncode, result.stdout, result.stderr) == (0, CAPACITY, "")
    as_json = reminderbot("capacity", "--json", "--at", "2026-11-25T08:00", cwd=tmp_path, **env)
    document = json.loads(as_json.stdout)
    assert document["peak_minutes"][0] == {"minute": "2026-11-25 09:00", "due": 200,
                                           "headroom": -160}
    assert document["as_spread_today"]["skipped"] == 400
    assert document["adaptive_spread"]["stretched_slots"] == [
        {"slot": "2026-11-25 09:00", "reminders": 2000, "from": "2026-11-25 08:17",
         "to": "2026-11-25 09:13"}]


def test_capacity_without_a_database_is_exit_1_and_bad_usage_exit_2(tmp_path: Path) -> None:
    missing = f"sqlite+aiosqlite:///{tmp_path / 'none' / 'bot.db'}"
    result = reminderbot("capacity", cwd=tmp_path, DATABASE_URL=missing)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"reminderbot: cannot forecast: the folder of the SQLite file "
                             f"{tmp_path / 'none' / 'bot.db'} does not exist\n")
    bad = reminderbot("capacity", "--at", "tomorrow", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.endswith("argument --at: 'tomorrow' is not a time such as "
                               "2026-11-25T08:00 (see `reminderbot capacity --help`)\n")


# --- the adaptive spread, end to end --------------------------------------------------------

SEVEN = DAY.replace(hour=7)
PEOPLE = [FakeUser(id=7000 + i, first_name=f"P{i}") for i in range(16)]


@pytest.fixture
async def busy_bot(api: BotAPIStandIn, database_url: str) -> AsyncIterator[BotUnderTest]:
    """The bot with a send budget of 2 a minute, at 07:00, so that 16 people fill a slot."""
    harness = BotUnderTest(api, bot_settings(api, database_url, capacity_limit_per_minute=2),
                           ManualClock(SEVEN), dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_slot_over_capacity_is_spread_none_skipped_none_late(
    busy_bot: BotUnderTest,
) -> None:
    bot = busy_bot
    for person in PEOPLE:
        await bot.opt_in_as(person)
    assert bot.application is not None
    runtime = bot.application.bot_data[RUNTIME_KEY]
    assert isinstance(runtime, Runtime)
    first = await refresh(runtime, bot.clock.now())
    assert first.plan.stretches[9 * 60] == Stretch(lead=3, shares=(1,) * 16)
    # Two people move their check-in to 09:00 (as /settings does): check-ins keep their time.
    async with runtime.sessions.begin() as session:
        for person in PEOPLE[:2]:
            user = await session.scalar(select(User).where(User.telegram_user_id == person.id))
            assert user is not None
            await change_preferences(session, user, Change(checkin_at=time(9)), runtime.planner,
                                     bot.clock.now())
    forecast = await refresh(runtime, bot.clock.now())
    # Planned again: 16 water reminders at 09:00 (spread 0), 1 of the 2 a minute usable, 09:00
    # and 09:01 taken by the check-ins: 09:02-09:12, then 08:55-08:59.
    assert forecast.plan.stretches[9 * 60] == Stretch(lead=5, shares=(*[1] * 5, 0, 0, *[1] * 11))

    # What each person got, by the tick that sent it (the stand-in dates messages in real time).
    sent: dict[int, list[tuple[datetime, str]]] = {p.id: [] for p in PEOPLE}
    report_counts: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
    ticks = [NINE + i * M for i in range(-5, 15)] + [DAY.replace(hour=10)]
    ticks += [DAY.replace(hour=12) + i * M for i in range(-4, 15)]
    for moment in ticks:
        seen = {p.id: len(bot.api.messages_to(p.id)) for p in PEOPLE}
        report, _ = await bot.at(moment)
        for outcome, count in report.counts.items():
            report_counts[outcome] += count
        for person in PEOPLE:
            for message in bot.api.messages_to(person.id)[seen[person.id]:]:
                sent[person.id].append((moment, message.button_texts()[0]))
    assert report_counts[Outcome.SKIPPED_LATE] == 0
    water_at_nine = sorted(t for times in sent.values() for t, kind in times
                           if kind == "Done 💧" and t.hour in (8, 9))
    # Each person once, from 5 minutes before 09:00 to 13 after (each at the first tick after
    # their due time). The hash places 16 people unevenly (3 in one minute); thousands even out.
    assert water_at_nine == [NINE + i * M for i in (-4, -3, -1, 0, 3, 4, 4, 4, 7, 10, 10, 11, 11,
                                                    12, 13, 13)]
    # The check-ins keep their time: two at 09:00, the others at 10:00.
    assert sorted(t for times in sent.values() for t, kind in times if kind == "Fine") == (
        [NINE] * 2 + [DAY.replace(hour=10)] * 14)
    # The 12:00 slot follows the plan too, and nobody got 09:00 twice.
    for person in PEOPLE:
        water = [t for t, kind in sent[person.id] if kind == "Done 💧"]
        assert len(water) == 2
        assert DAY.replace(hour=11, minute=57) <= water[1] <= DAY.replace(hour=12, minute=13)
