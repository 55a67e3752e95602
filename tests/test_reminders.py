"""End to end: reminders come on time, buttons work, /stop and blocks end them, restarts hold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from reminderbot.app import DISPATCHER_KEY, build_application, running
from reminderbot.clock import ManualClock
from reminderbot.db.models import CheckinAnswer, HydrationDay, Schedule, ScheduleKind, User
from reminderbot.dispatch import RETRY_BACKOFF, RETRY_JITTER, Dispatcher, Outcome
from reminderbot.telegramhttp import ATTEMPTS
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from tests.conftest import START, BotUnderTest, bot_settings

NINE = START.replace(hour=9)
HYDRATION_BUTTONS = ["Done 💧", "Snooze 30 min", "I just took some"]


async def test_hydration_reminder_arrives_and_done_counts_a_glass(bot: BotUnderTest) -> None:
    await bot.opt_in()
    report, early = await bot.at(NINE - timedelta(seconds=1))
    assert early == [] and report.claimed == 0
    report, [first] = await bot.at(NINE)
    assert report.counts[Outcome.SENT] == 1
    assert first.button_texts() == HYDRATION_BUTTONS
    [thanks], _ = await bot.press(first, "Done 💧")
    assert thanks.plain_text == "Thanks. Glasses logged today: 1"
    assert first.button_texts() == []  # pressed once, it cannot count twice

    _, [second] = await bot.at(NINE.replace(hour=12))
    assert second.plain_text != first.plain_text  # the wording rotates
    [thanks], _ = await bot.press(second, "Done 💧")
    assert thanks.plain_text == "Thanks. Glasses logged today: 2"
    async with bot.dispatcher.runtime.sessions() as session:
        day = await session.scalar(select(HydrationDay))
    assert day is not None and day.glasses == 2 and day.day == NINE.date()


async def test_a_whole_day_of_reminders(bot: BotUnderTest) -> None:
    await bot.opt_in()
    times = []
    for hour in range(9, 24):
        _, sent = await bot.at(START.replace(hour=hour, minute=30))
        times += [(hour, m.button_texts()[0]) for m in sent]
    # Hydration at 09, 12, 15, 18, 21 and the check-in at 10: each sent at the first tick after.
    assert times == [(9, "Done 💧"), (10, "Fine"), (12, "Done 💧"), (15, "Done 💧"),
                     (18, "Done 💧"), (21, "Done 💧")]


async def test_checkin_answer_gets_guidance_and_is_stored_as_a_code(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.at(NINE)
    _, [question] = await bot.at(START.replace(hour=10))
    assert "how are you feeling" in question.plain_text.lower()
    assert question.button_texts() == ["Fine", "Headache", "Nausea", "Sweating", "Anxiety",
                                       "Something else", "Snooze 30 min"]
    [guidance], _ = await bot.press(question, "Headache")
    assert "water" in guidance.plain_text.lower()
    assert "provider" in guidance.plain_text.lower()
    async with bot.dispatcher.runtime.sessions() as session:
        answers = (await session.scalars(select(CheckinAnswer.answer))).all()
    assert answers == ["headache"]


async def test_something_else_points_to_a_provider_and_emergency_help(bot: BotUnderTest) -> None:
    await bot.opt_in()
    _, [question] = await bot.at(START.replace(hour=10))
    await bot.press(question, "Something else")  # opens the red flags in place
    [reply], _ = await bot.press(question, "None of these")
    text = reply.plain_text.lower()
    assert "healthcare provider" in text and "emergency number" in text


async def test_stop_ends_everything_and_nothing_comes_after(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [confirmation] = await bot.send("/stop")
    assert "/start" in confirmation.plain_text
    for hours in (1, 2, 4, 26, 24 * 7):
        report, sent = await bot.at(START + timedelta(hours=hours))
        assert sent == [] and report.claimed == 0
    assert bot.chat()[-1] is confirmation
    [again] = await bot.send("/stop")
    assert "/start" in again.plain_text  # nothing to stop, said kindly


async def test_start_after_stop_offers_to_resume(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.send("/stop")
    [offer] = await bot.send("/start")
    assert offer.button_texts() == ["Yes, resume", "Not now"]
    replies, _ = await bot.press(offer, "Yes, resume")
    assert replies[0].plain_text.splitlines()[2] == "First water reminder: 09:00"
    _, [reminder] = await bot.at(NINE)
    assert reminder.button_texts() == HYDRATION_BUTTONS


async def test_a_blocked_bot_deactivates_the_user(bot: BotUnderTest) -> None:
    await bot.opt_in()
    bot.api.block(bot.user.id)
    report, _ = await bot.at(NINE)
    assert report.counts[Outcome.DEACTIVATED] == 1
    for hours in (4, 25, 49):
        report, _ = await bot.at(START + timedelta(hours=hours))
        assert report.claimed == 0  # nothing more is even tried
    bot.api.unblock(bot.user.id)
    [offer] = await bot.send("/start")
    assert offer.button_texts() == ["Yes, resume", "Not now"]


async def test_429_is_waited_out_and_sent_once(bot: BotUnderTest) -> None:
    await bot.opt_in()
    bot.api.fail_next("sendMessage", status=429, retry_after=1, chat_id=bot.user.id)
    report, sent = await bot.at(NINE)
    assert report.counts[Outcome.SENT] == 1 and len(sent) == 1
    refused = [c for c in bot.api.calls if c.method == "sendMessage" and c.status == 429]
    assert len(refused) == 1


async def test_server_error_is_retried_later_and_sent_once(bot: BotUnderTest) -> None:
    await bot.opt_in()
    # Every attempt of the call fails (a single 502 is tried again at once: see the next test).
    bot.api.fail_next("sendMessage", status=502, chat_id=bot.user.id, times=ATTEMPTS)
    assert await bot.dispatcher.earliest_due() == NINE
    report, sent = await bot.at(NINE)
    assert report.counts[Outcome.RETRY] == 1 and sent == []
    # Waits (30 s, give or take the jitter), then retries.
    wait = await bot.dispatcher.earliest_due() - NINE
    assert RETRY_BACKOFF * (1 - RETRY_JITTER) <= wait <= RETRY_BACKOFF * (1 + RETRY_JITTER)
    report, sent = await bot.at(NINE + timedelta(seconds=10))
    assert report.claimed == 0  # backing off
    report, sent = await bot.at(NINE + timedelta(minutes=1))
    assert report.counts[Outcome.SENT] == 1 and len(sent) == 1
    report, sent = await bot.at(NINE + timedelta(minutes=2))
    assert sent == []


async def test_one_server_error_is_tried_again_at_once(bot: BotUnderTest) -> None:
    await bot.opt_in()
    bot.api.fail_next("sendMessage", status=500, chat_id=bot.user.id)
    report, [reminder] = await bot.at(NINE)
    assert report.counts[Outcome.SENT] == 1 and reminder.button_texts() == HYDRATION_BUTTONS
    statuses = [c.status for c in bot.api.calls
                if c.method == "sendMessage" and c.params.get("chat_id") == bot.user.id]
    assert statuses[-2:] == [500, 200]


async def test_restart_loses_nothing_and_repeats_nothing(bot: BotUnderTest) -> None:
    await bot.opt_in()
    _, [first] = await bot.at(NINE)
    await bot.restart()
    report, sent = await bot.at(NINE + timedelta(minutes=5))
    assert sent == [] and report.claimed == 0  # the 09:00 reminder is not sent again
    # Down over the 12:00 slot for 10 minutes: sent when the bot is back.
    await bot.stop()
    bot.clock.set(NINE.replace(hour=12, minute=10))
    await bot.start()
    report, [late] = await bot.at(NINE.replace(hour=12, minute=10))
    assert late.button_texts() == HYDRATION_BUTTONS
    # Buttons of messages sent before the restart still work.
    [thanks], _ = await bot.press(first, "Done 💧")
    assert thanks.plain_text == "Thanks. Glasses logged today: 1"


async def test_reminder_more_than_30_minutes_late_is_skipped(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.stop()
    bot.clock.set(NINE + timedelta(minutes=45))
    await bot.start()
    report, sent = await bot.at(NINE + timedelta(minutes=45))
    assert sent == [] and report.counts[Outcome.SKIPPED_LATE] == 1
    _, [check_in] = await bot.at(START.replace(hour=10))  # the next one, on schedule
    assert check_in.button_texts()[0] == "Fine"
    _, [noon] = await bot.at(START.replace(hour=12))
    assert noon.button_texts() == HYDRATION_BUTTONS


async def test_messages_sent_while_the_bot_was_down_are_answered(bot: BotUnderTest) -> None:
    await bot.stop()
    await bot.api.send_message(bot.user, "/info")
    await bot.api.send_message(bot.user, "/help")
    await bot.start()
    await bot.api.wait_for_messages(bot.user.id, 2)
    texts = [m.plain_text for m in bot.chat()]
    assert "Mitragyna speciosa" in texts[0] and "/sideeffects" in texts[1]


async def test_the_dispatch_job_sends_on_its_own(api: BotAPIStandIn, database_url: str) -> None:
    harness = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=0.1)
    await harness.start()
    try:
        await harness.opt_in()
        harness.clock.set(NINE)
        # welcome, confirmation, zone question, discreet-mode offer, one reminder
        [*_, reminder] = await api.wait_for_messages(harness.user.id, 5)
        assert reminder.button_texts() == HYDRATION_BUTTONS
        await asyncio.sleep(0.5)  # several more ticks: still exactly one reminder
        assert len(api.messages_to(harness.user.id)) == 5
    finally:
        await harness.stop()


async def test_a_reminder_due_while_a_tick_runs_is_sent_without_waiting_for_the_next_one(
    api: BotAPIStandIn, database_url: str
) -> None:
    # The bot on the real clock, its regular tick an hour apart: only the wake-up at the next
    # due time can send these. The water reminder's answer comes 1 s late, so the check-in
    # falls due while that tick is still running (it claims again before it ends).
    settings = bot_settings(api, database_url)
    harness = BotUnderTest(api, settings, ManualClock(START), dispatch_interval=3600)
    await harness.start()
    await harness.opt_in()
    await harness.stop()
    before = len(api.messages_to(harness.user.id))
    soon = datetime.now(UTC) + timedelta(seconds=3)
    due = {ScheduleKind.HYDRATION: soon, ScheduleKind.CHECKIN: soon + timedelta(seconds=0.5)}
    runtime = harness.dispatcher.runtime
    async with runtime.sessions.begin() as session:
        for row in await session.scalars(select(Schedule)):
            row.next_due_at = due.get(ScheduleKind(row.kind), soon + timedelta(days=1))
    api.answer_late("sendMessage", delay=1.0, chat_id=harness.user.id)
    application = build_application(settings, dispatch_interval=3600)
    async with running(application, poll_timeout=1):
        assert application.job_queue is not None
        [regular] = application.job_queue.get_jobs_by_name("dispatch")
        await regular.run(application)  # what the first regular tick does: plans a wake-up
        # A wake-up planned at once by a tick that is itself a wake-up still runs: APScheduler
        # drops a job that fires while an instance of it is running (under load, a stall of
        # up to the regular interval).
        [wake] = application.job_queue.get_jobs_by_name("dispatch-wake")
        assert wake.job.max_instances > 1
        sent = await api.wait_for_messages(harness.user.id, before + 2, timeout=8)
    water, checkin = sent[before:]
    assert water.button_texts() == HYDRATION_BUTTONS
    assert checkin.button_texts() == ["Fine", "Headache", "Nausea", "Sweating", "Anxiety",
                                      "Something else", "Snooze 30 min"]


async def test_users_get_reminders_in_their_time_zone_with_spread(
    api: BotAPIStandIn, database_url: str
) -> None:
    settings = bot_settings(api, database_url, default_timezone="Europe/Berlin",
                            reminder_spread_minutes=10)
    harness = BotUnderTest(api, settings, ManualClock(START.replace(hour=6)),
                           dispatch_interval=3600)
    await harness.start()
    try:
        confirmation = await harness.opt_in()
        assert confirmation.plain_text.splitlines()[-1] == (
            "Times are in Europe/Berlin. Send /stop at any time to end everything."
        )
        # 09:00 in Berlin is 08:00 UTC in November; the user's offset is under 10 minutes.
        _, sent = await harness.at(START.replace(hour=7, minute=59, second=59))
        assert sent == []
        _, [reminder] = await harness.at(START.replace(hour=8, minute=10))
        assert reminder.button_texts() == HYDRATION_BUTTONS
    finally:
        await harness.stop()


async def test_two_dispatchers_never_send_the_same_reminder_twice(bot: BotUnderTest) -> None:
    users = [FakeUser(id=5000 + n, language_code="en") for n in range(40)]
    for user in users:
        await bot.api.send_message(user, "/start")
    # Every update handled, not only a quiet moment (40 first connections can be slow).
    await bot.settle()
    for user in users:
        welcome = bot.api.messages_to(user.id)[-1]
        await bot.api.press_button(user, welcome, "Yes, remind me")
    await bot.settle()
    assert bot.application is not None
    other = Dispatcher(bot.dispatcher.runtime, batch_size=7)
    mine: Dispatcher = bot.application.bot_data[DISPATCHER_KEY]
    bot.clock.set(NINE)
    reports = await asyncio.gather(mine.tick(bot.application.bot), other.tick(bot.application.bot))
    assert sum(r.counts[Outcome.SENT] for r in reports) == len(users)
    for user in users:
        assert [m.button_texts() for m in bot.api.messages_to(user.id)][-1] == HYDRATION_BUTTONS
        # welcome, confirmation, zone question, discreet-mode offer, one reminder
        assert len(bot.api.messages_to(user.id)) == 5


async def test_stop_while_a_reminder_is_claimed_confirms_at_once(bot: BotUnderTest) -> None:
    # The claimed reminder is dropped before it goes (tests/test_people_first.py): the
    # confirmation does not wait for the claim to end, and it is the last message.
    await bot.opt_in()
    bot.clock.set(NINE)
    [_claimed] = await bot.dispatcher.claim(NINE)  # a reminder is about to be sent
    [confirmation] = await bot.send("/stop")
    assert "stopped" in confirmation.plain_text.lower()
    report, sent = await bot.at(NINE.replace(hour=12))
    assert sent == [] and report.claimed == 0


async def test_the_dispatch_job_never_drops_a_late_tick(bot: BotUnderTest) -> None:
    # APScheduler's default one-second misfire grace silently skips a tick that starts late.
    assert bot.application is not None and bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("dispatch")
    assert job.job.misfire_grace_time is None
    assert job.job.coalesce is True and job.job.max_instances == 1


async def test_one_broken_row_does_not_stop_the_others(bot: BotUnderTest) -> None:
    other = FakeUser(id=31337)
    await bot.opt_in()
    await bot.api.send_message(other, "/start")
    await bot.api.wait_until_idle()
    await bot.api.press_button(other, bot.api.messages_to(other.id)[-1], "Yes, remind me")
    await bot.api.wait_until_idle()
    async with bot.dispatcher.runtime.sessions.begin() as session:
        await session.execute(  # data no code path writes: a zone that does not exist
            update(User).where(User.telegram_user_id == other.id).values(timezone="Nowhere/Zone")
        )
    report, [reminder] = await bot.at(NINE)
    assert reminder.button_texts() == HYDRATION_BUTTONS
    assert report.counts[Outcome.FAILED] == 1 and report.counts[Outcome.SENT] == 1
    # The broken one failed before anything was sent: nothing half-done, nothing to repeat.
    # welcome, confirmation, zone question, discreet-mode offer
    assert len(bot.api.messages_to(other.id)) == 4
