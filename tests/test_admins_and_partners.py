"""End to end: /stats for admins only, partner deep links, and the counts the dispatcher keeps."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from reminderbot import keyboards, texts
from reminderbot.catalog import load_catalog
from reminderbot.clock import ManualClock
from reminderbot.db.models import DeliveryCount, User
from reminderbot.dispatch import Outcome
from reminderbot.handlers.info import bot_commands
from reminderbot.partners import partner_code, start_parameter
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, SentMessage
from tests.conftest import START, BotUnderTest, bot_settings

ADMIN = FakeUser(id=770077, first_name="Op", language_code="en")
ADMIN_ES = FakeUser(id=880088, first_name="Ana", language_code="es")
STRANGER = FakeUser(id=987654321, first_name="Eve", language_code="en")
NINE = START.replace(hour=9)

# Five people opted in and got the 09:00 water reminder; nothing else happened yet.
TABLE = """\
Users              people
  active                5
  paused               <5
  stopped              <5

Reminders          1d  7d  30d
  hydration
    sent            5   5    5
    skipped        <5  <5   <5
    skipped_late   <5  <5   <5
    skipped_glass  <5  <5   <5
    skipped_plan   <5  <5   <5
    failed         <5  <5   <5
  checkin
    sent           <5  <5   <5
    skipped        <5  <5   <5
    skipped_late   <5  <5   <5
    skipped_glass  <5  <5   <5
    skipped_plan   <5  <5   <5
    failed         <5  <5   <5
  tolerance
    sent           <5  <5   <5
    skipped        <5  <5   <5
    skipped_late   <5  <5   <5
    skipped_glass  <5  <5   <5
    skipped_plan   <5  <5   <5
    failed         <5  <5   <5
  plan
    sent           <5  <5   <5
    skipped        <5  <5   <5
    skipped_late   <5  <5   <5
    skipped_glass  <5  <5   <5
    skipped_plan   <5  <5   <5
    failed         <5  <5   <5

Check-in answers   30d
  fine              <5
  headache          <5
  nausea            <5
  sweating          <5
  anxiety           <5
  other             <5
  tolerance_more    <5
  tolerance_same    <5
  (unlisted)        <5"""


@pytest.fixture
async def admin_bot(api: BotAPIStandIn, database_url: str) -> AsyncIterator[BotUnderTest]:
    """The bot with ADMIN and ADMIN_ES as its admins."""
    settings = bot_settings(api, database_url, admin_user_ids=f"{ADMIN.id},{ADMIN_ES.id}")
    harness = BotUnderTest(api, settings, ManualClock(START), dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def five_people_got_a_reminder(bot: BotUnderTest) -> None:
    for number in range(5):
        await bot.opt_in_as(FakeUser(id=5000 + number, first_name="P"))
    report, _ = await bot.at(NINE)
    assert report.counts[Outcome.SENT] == 5


def pre_block(message: SentMessage) -> str:
    [pre] = [e for e in message.entities if e["type"] == "pre"]
    return message.plain_text[pre["offset"] : pre["offset"] + pre["length"]]


# --- /stats ----------------------------------------------------------------------------------


async def test_an_admin_gets_the_table(admin_bot: BotUnderTest) -> None:
    await five_people_got_a_reminder(admin_bot)
    [answer] = await admin_bot.send("/stats", ADMIN)
    assert answer.plain_text == (
        "Usage in numbers\nDays are UTC days, today included.\n" + TABLE + "\n"
        "Counts only, never a person: any number under 5, zero included, shows as <5 so that "
        "no one can be singled out."
    )
    assert pre_block(answer) == TABLE  # a fixed-width block, so the columns line up
    assert answer.reply_markup is None


async def test_a_spanish_admin_gets_the_text_around_the_table_in_spanish(
    admin_bot: BotUnderTest,
) -> None:
    await five_people_got_a_reminder(admin_bot)
    [answer] = await admin_bot.send("/stats", ADMIN_ES)
    assert answer.plain_text == (
        "El uso, en cifras\nLos días son días UTC, con hoy incluido.\n" + TABLE + "\n"
        "Solo recuentos, nunca datos de una persona: cualquier cifra menor que 5, incluido el "
        "cero, aparece como <5 para que nadie pueda ser identificado."
    )


async def test_anyone_else_gets_the_unknown_command_reply_and_a_log_line_without_their_id(
    admin_bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await five_people_got_a_reminder(admin_bot)
    [unknown] = await admin_bot.send("/nosuchcommand", STRANGER)
    caplog.clear()
    with caplog.at_level(logging.INFO):  # the level the bot runs at
        [refused] = await admin_bot.send("/stats", STRANGER)
        [subscribed] = await admin_bot.send("/stats", FakeUser(id=5000, first_name="P"))
    for answer in (refused, subscribed):
        assert (answer.text, answer.parse_mode, answer.reply_markup) == (
            unknown.text, unknown.parse_mode, unknown.reply_markup
        )
    assert refused.plain_text == "Sorry, I didn't understand that. /help lists what I can do."
    refusals = [r for r in caplog.records if r.name == "reminderbot.handlers.admin"]
    assert [(r.levelname, r.getMessage()) for r in refusals] == [
        ("WARNING", "admin command /stats refused: the sender is not in ADMIN_USER_IDS")
    ] * 2
    for record in caplog.records:
        assert str(STRANGER.id) not in record.getMessage()
        assert "5000" not in record.getMessage()


async def test_without_admins_nobody_gets_stats(bot: BotUnderTest) -> None:
    assert bot.settings.admin_user_ids == frozenset()
    [answer] = await bot.send("/stats")
    assert answer.plain_text == "Sorry, I didn't understand that. /help lists what I can do."


def test_stats_is_in_neither_the_menu_nor_help() -> None:
    catalog = load_catalog()
    for language in catalog.languages:
        assert "stats" not in [command.command for command in bot_commands(catalog, language)]
        assert "/stats" not in catalog.render(texts.HELP, language)


# --- partner deep links ----------------------------------------------------------------------


async def stored_source(bot: BotUnderTest, who: FakeUser) -> str | None:
    async with bot.dispatcher.runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_user_id == who.id))
    assert user is not None
    return user.source


async def test_a_deep_link_records_the_partner(bot: BotUnderTest) -> None:
    [welcome] = await bot.send("/start Clinic-A")
    assert welcome.plain_text == (await bot.send("/start", STRANGER))[0].plain_text
    assert welcome.buttons == [[("Yes, remind me", "consent:yes:clinic-a"),
                                ("Just information", "consent:no")]]
    replies, _ = await bot.press(welcome, "Yes, remind me")
    assert replies[0].plain_text.startswith("Reminders are on.")
    assert await stored_source(bot, bot.user) == "clinic-a"
    _, document = await bot.send("/mydata")
    assert document.document is not None
    assert json.loads(document.document)["users"][0]["source"] == "clinic-a"


@pytest.mark.parametrize(
    "start",
    ["/start", "/start clinic_a", "/start " + "a" * 33, "/start clínica", "/start clinic-a extra",
     "/start clinic.a"],
)
async def test_a_bad_code_is_ignored(bot: BotUnderTest, start: str) -> None:
    [welcome] = await bot.send(start)
    assert welcome.buttons[0][0] == ("Yes, remind me", "consent:yes")
    replies, _ = await bot.press(welcome, "Yes, remind me")
    assert replies[0].plain_text.startswith("Reminders are on.")
    assert await stored_source(bot, bot.user) is None


async def test_forged_consent_data_still_opts_in_without_a_source(bot: BotUnderTest) -> None:
    [welcome] = await bot.send("/start")
    before = len(bot.chat())
    query = await bot.api.send_callback_data(bot.user, welcome, "consent:yes:<b>x</b>")
    await bot.api.wait_for_callback_answer(query)
    await bot.api.wait_until_idle(quiet=0.15)
    assert bot.chat()[before].plain_text.startswith("Reminders are on.")
    assert await stored_source(bot, bot.user) is None


async def test_the_partner_is_kept_from_the_first_opt_in_only(bot: BotUnderTest) -> None:
    [welcome] = await bot.send("/start clinic-a")
    await bot.press(welcome, "Yes, remind me")
    await bot.send("/stop")
    [back] = await bot.send("/start clinic-b")
    assert back.buttons[0][0][1] == keyboards.CONSENT_YES
    await bot.press(back, back.buttons[0][0][0])
    assert await stored_source(bot, bot.user) == "clinic-a"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
               min_size=1, max_size=32))
def test_every_valid_code_is_kept_lower_case_and_fits_in_a_button(code: str) -> None:
    assert partner_code(code) == code.lower()
    assert start_parameter([code]) == code.lower()
    data = f"{keyboards.CONSENT_YES}:{code.lower()}"
    assert len(data.encode()) <= 64  # Telegram's limit for callback data
    assert keyboards.consent_source(data) == code.lower()


@given(st.text(max_size=40).filter(
    lambda s: not (1 <= len(s) <= 32 and all(c.isascii() and (c.isalnum() or c == "-")
                                             for c in s))))
def test_anything_else_is_no_code(text: str) -> None:
    assert partner_code(text) is None
    assert keyboards.consent_source(f"{keyboards.CONSENT_YES}:{text}") is None


def test_a_deep_link_sends_exactly_one_parameter() -> None:
    assert start_parameter(None) is None
    assert start_parameter([]) is None
    assert start_parameter(["clinic-a", "x"]) is None


# --- counts the dispatcher keeps ---------------------------------------------------------------


async def delivery_counts(bot: BotUnderTest) -> list[tuple[object, ...]]:
    async with bot.dispatcher.runtime.sessions() as session:
        rows = await session.execute(
            select(DeliveryCount.day, DeliveryCount.kind, DeliveryCount.outcome,
                   DeliveryCount.count).order_by(DeliveryCount.id)
        )
    return [tuple(row) for row in rows.tuples()]


async def test_each_tick_adds_its_outcomes_by_kind(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.opt_in_as(STRANGER)
    await bot.at(NINE - timedelta(minutes=1))  # nothing due: nothing stored
    assert await delivery_counts(bot) == []
    await bot.at(NINE)
    day = NINE.date()
    assert await delivery_counts(bot) == [(day, "hydration", "sent", 2)]
    bot.api.block(STRANGER.id)
    await bot.at(START.replace(hour=10))
    assert await delivery_counts(bot) == [
        (day, "hydration", "sent", 2), (day, "checkin", "deactivated", 1),
        (day, "checkin", "sent", 1),
    ]
    # Down for the evening: the 21:00 reminder is too late at 22:00, skipped.
    await bot.at(START.replace(hour=12))
    await bot.at(START.replace(hour=15))
    await bot.at(START.replace(hour=18))
    await bot.at(START.replace(hour=22))
    assert await delivery_counts(bot) == [
        (day, "hydration", "sent", 5), (day, "checkin", "deactivated", 1),
        (day, "checkin", "sent", 1), (day, "hydration", "skipped_late", 1),
    ]
