"""/settings edited in place, re-planning on every change, and changes that never repeat a slot
(SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from reminderbot.clock import ManualClock
from reminderbot.db.models import CheckinAnswer, User
from reminderbot.handlers.settings import _DATA, _change_for
from reminderbot.preferences import Change, PreferenceError, change_preferences
from reminderbot.schedule import WakingWindow, spread_offset
from reminderbot.testing.botapi import BotAPIStandIn, SentMessage
from tests.conftest import START, BotUnderTest, bot_settings

NINE = START.replace(hour=9)
HYDRATION_BUTTONS = ["Done 💧", "Snooze 30 min", "I just took some"]


def lines(message: SentMessage) -> list[str]:
    return message.plain_text.splitlines()


async def tap(bot: BotUnderTest, message: SentMessage, button: str) -> None:
    """Press a button a moment after the last: a person, not a flood (over 10 in 10 s)."""
    bot.clock.advance(timedelta(seconds=1.1))
    replies, _ = await bot.press(message, button)
    assert replies == []  # the menu is edited in place, never a new message


def value(message: SentMessage, label: str) -> str:
    """The value shown on the menu line that starts with ``label``."""
    [line] = [line for line in lines(message) if line.startswith(label + ":")]
    return line.removeprefix(label + ":").strip()


async def test_the_menu_shows_every_setting_and_the_next_reminder(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [menu] = await bot.send("/settings")
    assert lines(menu) == [
        "Your settings",
        "Time zone: UTC (now 08:00)",
        "Waking hours: 09:00–21:00",
        "Water reminders: every 3 h",
        "Daily check-in: 10:00",
        "Weekly tolerance question: on",
        "Language: English",
        "Discreet mode: off",
        "",
        "Next reminder: 09:00",
    ]
    assert menu.button_texts() == ["🌍 Time zone", "🌅 Waking hours", "💧 Water reminders",
                                   "📝 Check-in", "🗣 Language", "🔒 Discreet mode", "Done"]


async def test_changes_are_made_in_place_and_take_effect_for_the_next_reminder(
    bot: BotUnderTest,
) -> None:
    await bot.opt_in()
    [menu] = await bot.send("/settings")
    count = len(bot.chat())
    await tap(bot, menu, "💧 Water reminders")
    assert lines(menu) == ["Water reminders", "How often, between 09:00 and 21:00?"]
    assert menu.button_texts() == ["Every 1 h", "Every 2 h", "Every 3 h", "Every 4 h", "Off",
                                   "« Back"]
    await tap(bot, menu, "Every 2 h")
    assert value(menu, "Water reminders") == "every 2 h"
    await tap(bot, menu, "🌅 Waking hours")
    await tap(bot, menu, "07:00")
    assert lines(menu)[1] == "Your day starts at 07:00. When does it usually end?"
    await tap(bot, menu, "23:00")
    assert value(menu, "Waking hours") == "07:00–23:00"
    # Every 2 hours from 07:00: 07, 09, 11 ... 23. It is 08:00, so the next is 09:00.
    assert value(menu, "Next reminder") == "09:00"
    await tap(bot, menu, "📝 Check-in")
    await tap(bot, menu, "Off")
    assert value(menu, "Daily check-in") == "off"
    await tap(bot, menu, "📝 Check-in")
    await tap(bot, menu, "Weekly question on/off")
    assert value(menu, "Weekly tolerance question") == "off"
    assert len(bot.chat()) == count  # one message, edited in place all along
    sent = []
    for hour in range(9, 24):
        _, got = await bot.at(START.replace(hour=hour))
        sent += [(hour, m.button_texts()) for m in got]
    assert sent == [(h, HYDRATION_BUTTONS) for h in (9, 11, 13, 15, 17, 19, 21, 23)]


async def test_language_changes_the_menu_and_what_comes_next(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [menu] = await bot.send("/settings")
    await tap(bot, menu, "🗣 Language")
    assert menu.button_texts() == ["English", "Español", "« Back"]
    await tap(bot, menu, "Español")
    assert lines(menu)[0] == "Tus ajustes"
    assert value(menu, "Idioma") == "Español"
    _, [reminder] = await bot.at(NINE)
    assert reminder.button_texts() == ["Hecho 💧", "Posponer 30 min", "Acabo de tomar"]
    [help_reply] = await bot.send("/help")  # a Telegram "en" user who chose Spanish
    assert lines(help_reply)[0] == "Comandos"


async def test_typed_waking_hours_across_midnight(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [reply] = await bot.send("22:00-06:00")
    assert reply.plain_text == "Waking hours set to 22:00–06:00."
    [menu] = await bot.send("/settings")
    assert value(menu, "Waking hours") == "22:00–06:00"
    assert value(menu, "Next reminder") == "10:00"  # the check-in; water from 22:00
    _, [checkin] = await bot.at(START.replace(hour=10))
    assert checkin.button_texts()[0] == "Fine"
    _, [night] = await bot.at(START.replace(hour=22))
    assert night.button_texts() == HYDRATION_BUTTONS
    _, [late] = await bot.at(START.replace(hour=1) + timedelta(days=1))
    assert late.button_texts() == HYDRATION_BUTTONS


async def test_a_double_tap_is_not_an_error(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.opt_in()
    [menu] = await bot.send("/settings")
    count = len(bot.chat())
    for _ in range(2):
        bot.clock.advance(timedelta(seconds=1.1))
        query_id = await bot.api.send_callback_data(bot.user, menu, "set:hyd:2")
        _, text, _ = await bot.api.wait_for_callback_answer(query_id)
        assert text is None
    await bot.api.wait_until_idle()
    assert value(menu, "Water reminders") == "every 2 h"
    assert len(bot.chat()) == count  # no "something went wrong"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_forged_and_stale_settings_buttons_change_nothing(bot: BotUnderTest) -> None:
    [welcome] = await bot.send("/start")
    for data in ("set:hyd:2", "set:hyd:9", "set:chk:2561", "set:we:0700:9999", "set:lang:xx",
                 "set:", "set:menu:extra"):
        bot.clock.advance(timedelta(seconds=1.1))
        query_id = await bot.api.send_callback_data(bot.user, welcome, data)
        _, text, _ = await bot.api.wait_for_callback_answer(query_id)
        assert text == "This button is no longer active.", data
    await bot.opt_in()
    [menu] = await bot.send("/settings")
    query_id = await bot.api.send_callback_data(bot.user, menu, "set:lang:xx")
    assert (await bot.api.wait_for_callback_answer(query_id))[1] == (
        "This button is no longer active."
    )
    assert value(menu, "Language") == "English"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"set:[a-z]{0,5}(:[0-9a-z]{0,6}){0,2}"))
def test_any_callback_data_reads_as_a_change_or_nothing(data: str) -> None:
    match = _DATA.match(data)
    if match is not None:
        change = _change_for(match)
        assert change is None or isinstance(change, Change)


async def test_a_change_of_spread_never_repeats_a_slot(
    api: BotAPIStandIn, database_url: str
) -> None:
    harness = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=3600)
    await harness.start()
    try:
        await harness.opt_in()
        _, [noon] = await harness.at(START.replace(hour=12))
        assert noon.button_texts() == HYDRATION_BUTTONS
        await harness.stop()
        # The operator raises the spread; the user's offset is then a few minutes.
        harness.settings = bot_settings(api, database_url, reminder_spread_minutes=10)
        harness.clock.set(START.replace(hour=12, minute=1))
        await harness.start()
        # A re-plan with the new offset (any settings change does one) must not find the
        # 12:00 slot again at 12:00 plus the offset.
        async with harness.dispatcher.runtime.sessions.begin() as session:
            user = await session.scalar(select(User))
            assert user is not None
            await change_preferences(session, user, Change(every_hours=3),
                                     harness.dispatcher.runtime.planner, harness.clock.now())
        offset = spread_offset(harness.user.id, 10)
        assert timedelta(0) < offset < timedelta(minutes=10)
        [menu] = await harness.send("/settings")
        expected = (START.replace(hour=15) + offset).strftime("%H:%M")
        assert value(menu, "Next reminder") == expected
        for minute in range(2, 60, 4):
            _, sent = await harness.at(START.replace(hour=12, minute=minute))
            assert sent == [], minute
        _, sent = await harness.at(START.replace(hour=14, minute=59))
        assert sent == []
        _, [three] = await harness.at(START.replace(hour=15, minute=10))
        assert three.button_texts() == HYDRATION_BUTTONS
    finally:
        await harness.stop()


async def test_a_zone_change_just_after_a_reminder_does_not_repeat_its_slot(
    bot: BotUnderTest,
) -> None:
    await bot.opt_in()
    await bot.send("Berlin")
    _, [berlin_noon] = await bot.at(START.replace(hour=11))  # 12:00 in Berlin
    assert berlin_noon.button_texts() == HYDRATION_BUTTONS
    bot.clock.set(START.replace(hour=11, minute=1))
    [moved] = await bot.send("London")
    assert lines(moved)[0] == "Time zone set to Europe/London: it is 11:01 for you now."
    # 12:00 in London comes an hour later, but that slot was just sent: the next is 15:00.
    for hour in (12, 13, 14):
        _, sent = await bot.at(START.replace(hour=hour, minute=30))
        assert sent == [], hour
    _, [three] = await bot.at(START.replace(hour=15))
    assert three.button_texts() == HYDRATION_BUTTONS


async def test_a_rejected_change_leaves_every_setting_as_it_was(bot: BotUnderTest) -> None:
    await bot.opt_in()
    runtime = bot.dispatcher.runtime
    for change in (Change(window=WakingWindow(time(7), time(23)), zone="Nowhere/Zone"),
                   Change(every_hours=3, language="English"),
                   Change(every_hours=7, checkin_at=time(8))):
        with pytest.raises(PreferenceError):
            async with runtime.sessions.begin() as session:
                user = await session.scalar(select(User))
                assert user is not None
                await change_preferences(session, user, change, runtime.planner,
                                         bot.clock.now())
    [menu] = await bot.send("/settings")
    assert lines(menu)[1:7] == [
        "Time zone: UTC (now 08:00)",
        "Waking hours: 09:00–21:00",
        "Water reminders: every 3 h",
        "Daily check-in: 10:00",
        "Weekly tolerance question: on",
        "Language: English",
    ]


async def test_a_symptom_reported_three_times_in_seven_suggests_a_provider_once_a_week(
    bot: BotUnderTest,
) -> None:
    await bot.opt_in()
    replies = []
    for day, answer in enumerate(["Headache", "Fine", "Headache", "Headache", "Headache"]):
        _, [question] = await bot.at(START.replace(hour=10) + timedelta(days=day))
        got, _ = await bot.press(question, answer)
        replies.append(len(got))
    # Only the third headache adds the suggestion; the fourth is within the week.
    assert replies == [1, 1, 1, 2, 1]
    messages = [m.plain_text for m in bot.chat()]
    [said] = [t for t in messages if t.startswith("You have reported")]
    assert said.startswith("You have reported headache in 3 of your last 4 check-ins.")
    async with bot.dispatcher.runtime.sessions() as session:
        codes = (await session.scalars(select(CheckinAnswer.answer))).all()
    assert codes == ["headache", "fine", "headache", "headache", "headache"]


async def test_the_weekly_tolerance_question_comes_after_a_week(bot: BotUnderTest) -> None:
    await bot.opt_in()  # Wednesday 25 November
    seen = []
    for day in range(8):
        _, sent = await bot.at(START.replace(hour=10, minute=1) + timedelta(days=day))
        seen += [(day, m.button_texts()) for m in sent]
    tolerance = [(day, buttons) for day, buttons in seen if buttons == ["Yes, more", "No"]]
    assert tolerance == [(7, ["Yes, more", "No"])]  # Wednesday 2 December, after the check-in
    question = bot.chat()[-1]
    assert lines(question) == ["Weekly question",
                               "Over the past week, have you needed more to feel the same?"]
    [reply], _ = await bot.press(question, "Yes, more")
    assert reply.plain_text.startswith(
        "Thanks for being honest. Needing more for the same effect is a sign of tolerance"
    )
    async with bot.dispatcher.runtime.sessions() as session:
        codes = (await session.scalars(select(CheckinAnswer.answer))).all()
    assert codes == ["tolerance_more"]
