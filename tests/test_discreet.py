"""Discreet mode: what the bot sends on its own names no substance and no symptom."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from reminderbot import texts
from reminderbot.app import build_runtime
from reminderbot.catalog import load_catalog
from reminderbot.config import load_settings
from reminderbot.db.models import Schedule, ScheduleKind, User
from reminderbot.dispatch import Dispatcher, Due
from reminderbot.htmltext import plain_text
from reminderbot.keyboards import CHECKIN_TIMES
from reminderbot.messaging import audience_of, render, wording
from reminderbot.preferences import DEFAULT_CHECKIN_AT
from tests.conftest import START, BotUnderTest

NINE = START.replace(hour=9)
TEN = START.replace(hour=10)
# Words a lock screen must not show: the substance, its compounds, symptoms (en, es).
GIVEAWAY = re.compile(
    r"kratom|mitragyn|mitragin|hydroxy|hidroxi|opioid|headache|nause|queas|sweat|anxi|"
    r"toleran|withdraw|dehydrat|side effect|dolor|cabeza|náusea|sudor|ansiedad|deshidrat|"
    r"efecto secundario|abstinencia|mareo|vómit",
    re.IGNORECASE,
)
CHECKIN_BUTTONS = ["Fine", "Headache", "Nausea", "Sweating", "Anxiety", "Something else",
                   "Snooze 30 min"]


def scheduled_messages(tmp_path: Path) -> list[tuple[str, str, str, str]]:
    """Every message the dispatcher can send, in every wording, for a discreet user in every
    language: (language, kind, key, plain text)."""
    catalog = load_catalog()
    settings = load_settings(telegram_bot_token=None,
                             database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    runtime = build_runtime(settings, catalog=catalog)
    dispatcher = Dispatcher(runtime)
    out = []
    for language in catalog.languages:
        user = User(telegram_user_id=1, chat_id=1, language=language, discreet=True)
        audience = audience_of(user)
        for kind in ScheduleKind:
            for once in (False, True):
                row = Schedule(kind=kind, once=once, sent_count=0,
                               next_due_at=datetime(2026, 11, 25, 9, tzinfo=UTC))
                key, _, _ = dispatcher.message_for(Due(row, user))
                shown = wording(audience, key)
                assert shown is not key, f"{key.name} has no discreet wording"
                for variant in range(catalog.variant_count(shown, language)):
                    row.sent_count = variant
                    key, _, number = dispatcher.message_for(Due(row, user))
                    text = plain_text(render(catalog, audience, key, number))
                    out.append((language, kind, shown.name, text))
    return out


def test_every_scheduled_message_in_discreet_mode_names_no_substance_and_no_symptom(
    tmp_path: Path,
) -> None:
    messages = scheduled_messages(tmp_path)
    assert {language for language, *_ in messages} == {"en", "es"}
    assert {kind for _, kind, *_ in messages} == set(ScheduleKind)
    for language, kind, key, text in messages:
        assert not GIVEAWAY.search(text), (language, kind, key, text)


def test_the_test_would_see_the_ordinary_wordings() -> None:
    # Without discreet mode, some scheduled message does name a symptom: the check above bites.
    catalog = load_catalog()
    ordinary = [catalog.render(texts.HYDRATION_REMINDER, lang, n)
                for lang in catalog.languages
                for n in range(catalog.variant_count(texts.HYDRATION_REMINDER, lang))]
    assert any(GIVEAWAY.search(plain_text(text)) for text in ordinary)


def test_every_discreet_wording_has_the_placeholders_and_rotation_of_its_key() -> None:
    for name, discreet in texts.DISCREET.items():
        key = texts.ALL_KEYS[name]
        assert (discreet.params, discreet.rotates) == (key.params, key.rotates), name


async def turn_discreet_on(bot: BotUnderTest) -> None:
    await bot.opt_in()
    offer = bot.chat()[-1]
    assert offer.plain_text.splitlines()[0] == "Discreet mode?"
    replies, _ = await bot.press(offer, "🔒 Turn it on")
    assert replies == []  # the offer itself says what was chosen
    assert offer.plain_text == (
        "Discreet mode is on: reminders and check-ins won't say what they're about. "
        "/settings changes it."
    )
    assert offer.button_texts() == []


async def test_a_discreet_user_gets_the_discreet_reminder_and_check_in(bot: BotUnderTest) -> None:
    await turn_discreet_on(bot)
    _, [reminder] = await bot.at(NINE)
    assert reminder.plain_text == "Time for some water 💧"
    assert reminder.button_texts() == ["Done 💧", "Snooze 30 min", "I just took some"]
    _, [question] = await bot.at(TEN)
    assert question.plain_text == "Good morning! How are you today?\nJust tap an answer below."
    assert question.button_texts() == CHECKIN_BUTTONS  # buttons are not in previews
    # A snoozed check-in comes back in the same wording.
    replies, answer = await bot.press(question, "Snooze 30 min")
    assert replies == [] and answer[1] == "OK, I'll ask again at 10:30."
    _, [again] = await bot.at(TEN + timedelta(minutes=30))
    assert again.plain_text == question.plain_text
    _, [second] = await bot.at(START.replace(hour=12))
    assert second.plain_text == "A glass of water now? 💧"  # discreet wordings rotate too


async def test_the_weekly_question_is_discreet_too(bot: BotUnderTest) -> None:
    await turn_discreet_on(bot)
    # Consent on Wednesday: the first weekly question comes a week later, at 10:01.
    _, sent = await bot.at(START.replace(hour=10, minute=1) + timedelta(days=7))
    [weekly] = [m for m in sent if m.button_texts() == ["Yes, more", "No"]]
    assert weekly.plain_text == (
        "Your weekly question\nThis past week, did you need more than before to feel the same?"
    )


async def test_answers_to_what_the_user_asks_are_not_discreet(bot: BotUnderTest) -> None:
    await turn_discreet_on(bot)
    [question] = await bot.send("/checkin")
    assert question.plain_text == (
        "How are you feeling?\nThis is your morning check-in. Just pick an answer below."
    )
    [info] = await bot.send("/info")
    assert info.plain_text.startswith("What kratom is\n")


async def test_leaving_it_off_keeps_the_ordinary_wording(bot: BotUnderTest) -> None:
    await bot.opt_in()
    offer = bot.chat()[-1]
    await bot.press(offer, "Leave it off")
    assert offer.plain_text == "Discreet mode is off. /settings turns it on any time."
    _, [question] = await bot.at(TEN)
    assert question.plain_text.startswith("How are you feeling?\n")


async def test_settings_turns_discreet_mode_on_and_off(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [menu] = await bot.send("/settings")
    assert "Discreet mode: off" in menu.plain_text.splitlines()
    assert "🔒 Discreet mode" in menu.button_texts()
    replies, _ = await bot.press(menu, "🔒 Discreet mode")
    assert replies == []  # the menu is edited in place
    assert "Discreet mode: on" in menu.plain_text.splitlines()
    async with bot.dispatcher.runtime.sessions() as session:
        assert await session.scalar(select(User.discreet)) is True
    _, [question] = await bot.at(TEN)
    assert question.plain_text.startswith("Good morning! How are you today?")
    await bot.press(menu, "🔒 Discreet mode")
    assert "Discreet mode: off" in menu.plain_text.splitlines()
    _, [reminder] = await bot.at(START.replace(hour=12))
    assert reminder.plain_text == "Time for a glass of water."


async def test_the_offer_comes_once_not_on_resume(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.send("/stop")
    [offer] = await bot.send("/start")
    replies, _ = await bot.press(offer, "Yes, resume")
    # The confirmation and the zone question (no zone yet), but no second offer.
    assert [m.plain_text.split()[:3] for m in replies] == [["Reminders", "are", "on."],
                                                            ["Where", "are", "you?"]]


def test_the_check_in_comes_in_the_morning() -> None:
    # Its discreet wording says "Good morning": every check-in time one can pick is before noon.
    assert max(CHECKIN_TIMES) <= time(12) and DEFAULT_CHECKIN_AT <= time(12)
