"""End to end: "I just took some" and /took start an after-use water plan (issue 15, part 2).

Nudges every hour for 4 hours inside the waking window, a regular water reminder near a nudge
skipped, a new plan replacing the running one, /stop and /pause ending it, the next morning's
check-in asking about a headache, and the button trusted only on a real water reminder. The
user lives in Berlin (UTC+1 in November): times below are Berlin times unless named UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from reminderbot.afteruse import PLAN_START_KIND, PlanTimes, asks_about_headache, in_window
from reminderbot.app import build_runtime
from reminderbot.catalog import load_catalog
from reminderbot.config import configuration_problems, load_settings
from reminderbot.db.models import (
    CheckinAnswer,
    DeliveryCount,
    Schedule,
    ScheduleKind,
    ScheduleState,
    User,
)
from reminderbot.dispatch import Dispatcher, Due, Outcome
from reminderbot.handlers.info import bot_commands
from reminderbot.htmltext import plain_text
from reminderbot.messaging import audience_of, render
from reminderbot.schedule import WakingWindow
from reminderbot.testing.botapi import SentMessage
from tests.conftest import BotUnderTest
from tests.test_discreet import GIVEAWAY

BERLIN = ZoneInfo("Europe/Berlin")
EXPIRED = "This button is no longer active."
WHY = ("Why: being low on water is one cause of a headache the day after, so I'll remind you "
       "over the next few hours. Tomorrow's check-in will ask how your head is.")
STARTED_END = ("Have a glass now too, and tap the button when you do. A new /took starts the "
               "plan over; /stop ends it.")
NUDGES = [
    "Water plan: time for a glass of water.",
    "Water plan: another glass now keeps you topped up.",
    "Water plan: have some water, sips count too.",
    "Water plan: one more glass of water, then tap the button.",
]
AFTER_PLAN_QUESTION = (
    "Good morning. How is your head today?\nYesterday you started a water plan. A headache can "
    "show up the day after: if you have one, tap \"Headache\". Otherwise just pick an answer "
    "below."
)
USUAL_QUESTION = "How are you feeling?\nThis is your morning check-in. Just pick an answer below."


def berlin(hour: int, minute: int = 0, day: int = 25) -> datetime:
    """A Berlin wall-clock time on 2026-11-<day>, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def started(times: str) -> str:
    return (f"Water plan on. I'll remind you to drink water at {times} (only times inside "
            f"your waking hours).\n{WHY}\n{STARTED_END}")


async def berliner(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [zone_set] = await bot.send("Berlin")
    assert zone_set.plain_text.startswith("Time zone set to Europe/Berlin")


async def took_at(bot: BotUnderTest, when: datetime) -> SentMessage:
    bot.clock.set(when)
    [reply] = await bot.send("/took")
    return reply


async def day_of_messages(
    bot: BotUnderTest, first: datetime, last: datetime
) -> list[tuple[str, str]]:
    """Ticks every 30 minutes from ``first`` to ``last``: (Berlin time, text) of what came."""
    seen: list[tuple[str, str]] = []
    at = first
    while at <= last:
        _, sent = await bot.at(at)
        seen += [(at.astimezone(BERLIN).strftime("%d %H:%M"), m.plain_text) for m in sent]
        at += timedelta(minutes=30)
    return seen


async def plan_rows(bot: BotUnderTest) -> list[tuple[str, str, datetime | None]]:
    async with bot.dispatcher.runtime.sessions() as session:
        rows = await session.execute(
            select(Schedule.kind, Schedule.state, Schedule.next_due_at)
            .where(Schedule.kind.in_((ScheduleKind.PLAN, PLAN_START_KIND)))
            .order_by(Schedule.next_due_at, Schedule.kind)
        )
        return [(k, s, d) for k, s, d in rows.tuples()]


async def test_took_at_2pm_nudges_at_3_4_5_and_6_and_skips_the_regular_reminders_there(
    bot: BotUnderTest,
) -> None:
    await berliner(bot)
    _, [noon] = await bot.at(berlin(12))
    assert noon.button_texts() == ["Done 💧", "Snooze 30 min", "I just took some"]
    reply = await took_at(bot, berlin(14))
    assert reply.plain_text == started("15:00, 16:00, 17:00, 18:00")
    assert reply.button_texts() == ["Done 💧"]
    # Only the start and the nudges are stored: no amount, no product.
    assert await plan_rows(bot) == [
        (PLAN_START_KIND, ScheduleState.DONE, berlin(14)),
        *((ScheduleKind.PLAN, ScheduleState.ON, berlin(h)) for h in (15, 16, 17, 18)),
    ]

    seen = await day_of_messages(bot, berlin(14, 30), berlin(22))
    # The regular 15:00 and 18:00 reminders fall on nudges: skipped; 21:00 comes as usual.
    assert seen == [
        ("25 15:00", NUDGES[0]), ("25 16:00", NUDGES[1]), ("25 17:00", NUDGES[2]),
        ("25 18:00", NUDGES[3]), ("25 21:00", "A gentle nudge: have some water if you can."),
    ]
    nudge = bot.chat()[-2]
    assert nudge.button_texts() == ["Done 💧"]
    [thanks], _ = await bot.press(nudge, "Done 💧")
    assert thanks.plain_text == "Thanks. Glasses logged today: 1"
    [thanks], _ = await bot.press(reply, "Done 💧")  # the glass the reply asked for counts too
    assert thanks.plain_text == "Thanks. Glasses logged today: 2"
    async with bot.dispatcher.runtime.sessions() as session:
        counts = (await session.execute(
            select(DeliveryCount.kind, DeliveryCount.outcome, DeliveryCount.count)
            .where(DeliveryCount.kind != ScheduleKind.CHECKIN)  # 10:00 was skipped, late
            .order_by(DeliveryCount.kind, DeliveryCount.outcome)
        )).tuples().all()
    assert counts == [("hydration", "sent", 2), ("hydration", "skipped_plan", 2),
                      ("plan", "sent", 4)]


async def test_a_regular_reminder_45_minutes_from_a_nudge_is_skipped_46_is_not(
    bot: BotUnderTest,
) -> None:
    await berliner(bot)
    await took_at(bot, berlin(11, 46))  # first nudge 12:46: 46 minutes after the 12:00 one
    report, sent = await bot.at(berlin(12))
    assert [m.plain_text for m in sent] == ["Time for a glass of water."]
    assert report.counts[Outcome.SKIPPED_PLAN] == 0
    await took_at(bot, berlin(14, 45))  # first nudge 15:45: 45 minutes after the 15:00 one
    report, sent = await bot.at(berlin(15))
    assert sent == [] and report.counts[Outcome.SKIPPED_PLAN] == 1
    reply = await took_at(bot, berlin(16, 15))  # the last nudge at 20:15, 45 minutes before 21:00
    assert reply.plain_text == started("17:15, 18:15, 19:15, 20:15")
    _, sent = await bot.at(berlin(20, 15))
    assert [m.plain_text for m in sent] == [NUDGES[3]]  # the ones before were too late
    report, sent = await bot.at(berlin(21))
    assert sent == [] and report.counts[Outcome.SKIPPED_PLAN] == 1
    # The next day: nudges 09:14, 10:14, 11:14 (08:14 is before waking hours).
    reply = await took_at(bot, berlin(7, 14, day=26))
    assert reply.plain_text == started("09:14, 10:14, 11:14")
    report, sent = await bot.at(berlin(9, day=26))  # 14 minutes before the first nudge
    assert sent == [] and report.counts[Outcome.SKIPPED_PLAN] == 1
    await bot.at(berlin(11, 14, day=26))
    report, sent = await bot.at(berlin(12, day=26))  # 46 minutes after the last
    assert [m.plain_text for m in sent] == ["A gentle nudge: have some water if you can."]
    assert report.counts[Outcome.SKIPPED_PLAN] == 0


async def test_only_nudges_inside_the_waking_window(bot: BotUnderTest) -> None:
    await berliner(bot)
    reply = await took_at(bot, berlin(19, 30))
    assert reply.plain_text == started("20:30")  # 21:30 and later are after 21:00
    late = await took_at(bot, berlin(22, 10))
    assert late.plain_text == (
        "Noted. The next few hours are outside your waking hours, so I won't send water "
        "reminders for now.\nWhy: being low on water is one cause of a headache the day after, "
        "so have a glass of water now. Tomorrow's check-in will ask how your head is."
    )
    assert late.button_texts() == ["Done 💧"]
    # The 22:10 plan replaced the 19:30 one, whose 20:30 nudge does not come either.
    seen = await day_of_messages(bot, berlin(22, 30), berlin(8, day=26))
    assert seen == []


async def test_a_new_took_replaces_the_running_plan(bot: BotUnderTest) -> None:
    await berliner(bot)
    await took_at(bot, berlin(14))
    _, [first] = await bot.at(berlin(15))
    assert first.plain_text == NUDGES[0]
    again = await took_at(bot, berlin(15, 30))
    assert again.plain_text == started("16:30, 17:30, 18:30, 19:30")
    seen = await day_of_messages(bot, berlin(16), berlin(21, 30))
    assert seen == [
        ("25 16:30", NUDGES[0]), ("25 17:30", NUDGES[1]), ("25 18:30", NUDGES[2]),
        ("25 19:30", NUDGES[3]), ("25 21:00", "Time for a glass of water."),
    ]
    # Two quick /took in a row: still one plan, one nudge an hour.
    await took_at(bot, berlin(9, day=26))
    await took_at(bot, berlin(9, 0, day=26) + timedelta(seconds=5))
    assert [(k, s) for k, s, _ in await plan_rows(bot) if s == ScheduleState.ON] == [
        (ScheduleKind.PLAN, ScheduleState.ON)] * 4
    _, sent = await bot.at(berlin(10, 0, day=26) + timedelta(seconds=5))
    assert [m.plain_text for m in sent if m.button_texts() == ["Done 💧"]] == [NUDGES[0]]


async def test_stop_and_pause_end_the_plan_and_delete_erases_it(bot: BotUnderTest) -> None:
    await berliner(bot)
    await took_at(bot, berlin(14))
    [stopped] = await bot.send("/stop")
    assert stopped.plain_text.splitlines()[0] == (
        "All reminders are stopped, and nothing more will be sent.")
    assert await day_of_messages(bot, berlin(14, 30), berlin(19)) == []
    assert [s for k, s, _ in await plan_rows(bot) if k == ScheduleKind.PLAN] == [
        ScheduleState.DONE] * 4
    [not_on] = await bot.send("/took")
    assert not_on.plain_text == "That works once reminders are on. Send /start to set them up."

    [offer] = await bot.send("/start")
    await bot.press(offer, "Yes, resume")
    assert (await took_at(bot, berlin(19, 5))).plain_text == started("20:05")
    [paused] = await bot.send("/pause 1d")
    assert paused.plain_text.startswith("Reminders are paused until 2026-11-26 19:05.")
    [refused] = await bot.send("/took")
    assert refused.plain_text == (
        "Your reminders are paused, so a water plan can't run now. Send /resume, then /took "
        "again."
    )
    [resumed] = await bot.send("/resume")
    assert resumed.plain_text == "Reminders are back on. Next one: 21:00."
    # The 20:05 nudge went with the pause; the regular 21:00 reminder is not skipped for it.
    assert await day_of_messages(bot, berlin(19, 30), berlin(21, 30)) == [
        ("25 21:00", "Time for a glass of water.")]

    await took_at(bot, berlin(9, day=26))
    [confirm] = await bot.send("/delete")
    await bot.press(confirm, "Yes, erase everything")
    assert await plan_rows(bot) == []


async def test_the_next_mornings_check_in_asks_about_a_headache(bot: BotUnderTest) -> None:
    await berliner(bot)
    _, [wednesday] = await bot.at(berlin(10))
    assert wednesday.plain_text == USUAL_QUESTION
    await took_at(bot, berlin(14))
    _, sent = await bot.at(berlin(10, day=26))
    [thursday] = [m for m in sent if m.button_texts()[0] == "Fine"]
    assert thursday.plain_text == AFTER_PLAN_QUESTION
    assert thursday.button_texts() == ["Fine", "Headache", "Nausea", "Sweating", "Anxiety",
                                       "Something else", "Snooze 30 min"]
    await bot.press(thursday, "Headache")
    async with bot.dispatcher.runtime.sessions() as session:
        assert list(await session.scalars(select(CheckinAnswer.answer))) == ["headache"]
    _, sent = await bot.at(berlin(10, day=27))
    [friday] = [m for m in sent if m.button_texts()[0] == "Fine"]
    assert friday.plain_text == USUAL_QUESTION
    # A plan started in the small hours (before waking hours) belongs to the night before:
    # that same morning's check-in asks.
    await took_at(bot, berlin(1, day=28))
    _, sent = await bot.at(berlin(10, day=28))
    [saturday] = [m for m in sent if m.button_texts()[0] == "Fine"]
    assert saturday.plain_text == AFTER_PLAN_QUESTION


def test_the_check_in_of_the_morning_after() -> None:
    window = WakingWindow(time(9), time(21))
    checkin = berlin(10, day=26)

    def asks(start: datetime) -> bool:
        return asks_about_headache(checkin, [start], BERLIN, window)

    assert asks(berlin(14)) and asks(berlin(23, 59)) and asks(berlin(2, day=26))
    assert asks(berlin(9, day=25))
    assert not asks(berlin(8, 59)) and not asks(berlin(9, 30, day=26))
    assert not asks(berlin(14, day=24))
    assert in_window(time(21), window) and not in_window(time(21, 1), window)
    assert in_window(time(1), WakingWindow(time(10), time(2)))
    assert not in_window(time(3), WakingWindow(time(10), time(2)))


async def test_the_button_on_a_water_reminder_starts_the_plan_once(bot: BotUnderTest) -> None:
    await berliner(bot)
    _, [reminder] = await bot.at(berlin(12))
    [reply], answer = await bot.press(reminder, "I just took some")
    assert answer[1] is None  # no pop-up: the reply says it all
    assert reply.plain_text == started("13:00, 14:00, 15:00, 16:00")
    assert reminder.button_texts() == []  # it cannot start a second plan
    bot.clock.set(berlin(12, 1))
    query = await bot.api.send_callback_data(bot.user, reminder, "plan:took")
    assert (await bot.api.wait_for_callback_answer(query))[1] == EXPIRED
    rows = await plan_rows(bot)
    assert [k for k, _, _ in rows] == [PLAN_START_KIND] + [ScheduleKind.PLAN] * 4
    assert rows[0][2] == berlin(12)


async def test_a_forged_or_old_press_starts_nothing(bot: BotUnderTest) -> None:
    await berliner(bot)

    async def forge(message: SentMessage, at: datetime) -> str | None:
        bot.clock.set(at)
        query = await bot.api.send_callback_data(bot.user, message, "plan:took")
        _, text, _ = await bot.api.wait_for_callback_answer(query)
        await bot.settle()
        return text

    [help_reply] = await bot.send("/help")
    assert "/took: just took some? water reminders for the next few hours" in (
        help_reply.plain_text.splitlines())
    _, [checkin] = await bot.at(berlin(10))
    _, [reminder] = await bot.at(berlin(12))
    before = len(bot.chat())
    assert await forge(help_reply, berlin(12, 1)) == EXPIRED  # not a reminder
    assert await forge(checkin, berlin(12, 2)) == EXPIRED  # a reminder of another kind
    assert checkin.button_texts()[0] == "Fine"  # a forged press leaves it as it was
    plan_reply = await took_at(bot, berlin(12, 3))
    assert await forge(plan_reply, berlin(12, 4)) == EXPIRED  # the plan's own reply
    _, [nudge] = await bot.at(berlin(13, 3))
    assert await forge(nudge, berlin(13, 4)) == EXPIRED  # a plan nudge
    # A week and more later, the water reminder's prompt is forgotten.
    assert await forge(reminder, berlin(12, 1, day=25) + timedelta(days=7, minutes=1)) == EXPIRED
    assert len(bot.chat()) == before + 2  # the /took reply and the nudge, nothing else
    async with bot.dispatcher.runtime.sessions() as session:
        starts = await session.scalar(select(func.count()).select_from(Schedule)
                                      .where(Schedule.kind == PLAN_START_KIND))
    assert starts == 1  # only the typed /took


def test_took_is_in_the_command_menu_in_every_language() -> None:
    catalog = load_catalog()
    menus = {lang: [(c.command, c.description) for c in bot_commands(catalog, lang)]
             for lang in catalog.languages}
    assert menus["en"][3] == ("took", "Just took some: water reminders for the next hours")
    assert menus["es"][3] == ("took", "Acabo de tomar: agua en las próximas horas")


def test_the_morning_after_check_in_is_discreet_too(tmp_path: Path) -> None:
    catalog = load_catalog()
    settings = load_settings(telegram_bot_token=None,
                             database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    dispatcher = Dispatcher(build_runtime(settings, catalog=catalog))
    after = PlanTimes(starts=(berlin(14),))
    for language in catalog.languages:
        for discreet in (False, True):
            user = User(telegram_user_id=1, chat_id=1, language=language, discreet=discreet,
                        timezone="Europe/Berlin", wake_start=time(9), wake_end=time(21))
            row = Schedule(kind=ScheduleKind.CHECKIN, once=False, sent_count=0,
                           next_due_at=berlin(10, day=26))
            key, _, variant = dispatcher.message_for(Due(row, user, after))
            text = plain_text(render(catalog, audience_of(user), key, variant))
            assert bool(GIVEAWAY.search(text)) is not discreet, (language, text)


def test_the_plan_settings_are_checked() -> None:
    assert configuration_problems(telegram_bot_token=None, plan_nudges=0,
                                  plan_interval_minutes=241) == [
        "PLAN_NUDGES: Input should be greater than or equal to 1",
        "PLAN_INTERVAL_MINUTES: Input should be less than or equal to 240",
    ]
    settings = load_settings(telegram_bot_token=None, plan_nudges=6, plan_interval_minutes=30)
    assert (settings.plan_nudges, settings.plan_interval_minutes) == (6, 30)
