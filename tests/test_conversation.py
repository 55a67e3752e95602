"""End to end: what a user sees when they talk to the bot (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reminderbot import texts
from reminderbot.clock import ManualClock
from reminderbot.db.models import Schedule, User
from reminderbot.telegramhttp import ATTEMPTS
from reminderbot.testing.botapi import BotAPIStandIn
from tests.conftest import START, BotUnderTest, bot_settings


async def count(bot: BotUnderTest, model: type) -> int:
    assert bot.application is not None
    async with bot.dispatcher.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_start_explains_and_asks_for_consent(bot: BotUnderTest) -> None:
    [welcome] = await bot.send("/start")
    assert "not medical advice" in welcome.plain_text.lower()
    assert welcome.button_texts() == ["Yes, remind me", "Just information"]
    assert await count(bot, User) == 0  # nothing stored before consent


async def test_consent_turns_reminders_on_and_says_when(bot: BotUnderTest) -> None:
    confirmation = await bot.opt_in()
    assert confirmation.plain_text.splitlines() == [
        "Reminders are on.",
        "A water reminder comes every 3 hours during waking hours, 09:00–21:00.",
        "First water reminder: 09:00",
        "Daily check-in: 10:00",
        "Times are in UTC. Send /stop at any time to end everything.",
    ]
    # The user has no zone yet: the bot asks where they are, with the default until then;
    # then it offers discreet mode.
    question, offer = bot.chat()[-2:]
    assert offer.plain_text.splitlines()[0] == "Discreet mode?"
    assert offer.button_texts() == ["🔒 Turn it on", "Leave it off"]
    assert question.plain_text.splitlines()[-1] == "Until then, times are in UTC."
    assert question.reply_markup == {
        "keyboard": [[{"text": "📍 Share my location", "request_location": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }
    assert await count(bot, Schedule) == 3  # water, check-in, the weekly question
    # The consent buttons are gone from the welcome message, so it cannot be pressed twice.
    welcome = bot.chat()[0]
    assert welcome.button_texts() == []


async def test_just_information_stores_nothing(bot: BotUnderTest) -> None:
    [welcome] = await bot.send("/start")
    [reply], _ = await bot.press(welcome, "Just information")
    assert "/info" in reply.plain_text
    assert await count(bot, User) == 0
    report, sent = await bot.at(bot.clock.now().replace(hour=12))
    assert sent == [] and report.claimed == 0


async def test_info_has_the_facts_and_a_button_to_side_effects(bot: BotUnderTest) -> None:
    [info] = await bot.send("/info")
    text = info.plain_text
    for fact in ("Mitragyna speciosa", "mitragynine", "7-hydroxymitragynine", "opioid receptors",
                 "tolerance", "healthcare provider", "not medical advice"):
        assert fact.lower() in text.lower(), fact
    replies, _ = await bot.press(info, "Side effects")
    assert replies == []  # the same message turns to the side effects
    assert "headache" in info.plain_text.lower()


async def test_sideeffects_says_what_helps_and_when_to_call_for_help(bot: BotUnderTest) -> None:
    [reply] = await bot.send("/sideeffects")
    text = reply.plain_text.lower()
    await bot.press(reply, "What helps")  # the rest is one button away, in the same message
    text += reply.plain_text.lower()
    for point in ("headache", "dehydrat", "nausea", "sweating", "anxiety", "tolerance", "water",
                  "pre-existing", "medication", "emergency number", "not medical advice"):
        assert point in text, point


async def test_help_lists_every_command_and_the_menu_is_registered(bot: BotUnderTest) -> None:
    [reply] = await bot.send("/help")
    listed = [line.split(":")[0] for line in reply.plain_text.splitlines() if line.startswith("/")]
    assert listed == ["/start", "/settings", "/timezone", "/checkin", "/took", "/history",
                      "/pause and /resume", "/stop", "/info", "/sideeffects", "/provider",
                      "/mydata", "/delete", "/help"]
    menu = ["start", "settings", "checkin", "took", "history", "pause", "resume", "stop", "info",
            "sideeffects", "provider", "timezone", "mydata", "delete", "help"]
    assert bot.application is not None
    english = await bot.application.bot.get_my_commands()
    spanish = await bot.application.bot.get_my_commands(language_code="es")
    assert [c.command for c in english] == menu == [c.command for c in spanish]
    assert (english[1].description, spanish[1].description) == (
        "Time zone, waking hours, how often",
        bot.dispatcher.runtime.catalog.label(texts.COMMAND_SETTINGS, "es"),
    )
    assert spanish[1].description != english[1].description


async def test_other_text_points_to_help(bot: BotUnderTest) -> None:
    [reply] = await bot.send("hello there")
    assert "/help" in reply.plain_text


async def test_the_bot_starts_even_if_the_command_menu_cannot_be_set(
    api: BotAPIStandIn, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("setMyCommands", status=500, times=ATTEMPTS)  # every attempt of the call
    harness = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=3600)
    await harness.start()
    try:
        [reply] = await harness.send("/help")
        assert "/stop" in reply.plain_text
        assert api.my_commands == []
        assert "could not register the command list" in caplog.text
    finally:
        await harness.stop()
