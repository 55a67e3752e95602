"""Red flags behind the check-in's "Something else", and the operator's emergency numbers."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from reminderbot import texts
from reminderbot.catalog import CatalogError, load_catalog
from reminderbot.checks import operator_warnings
from reminderbot.clock import ManualClock
from reminderbot.config import load_settings
from reminderbot.db.models import CheckinAnswer
from reminderbot.htmltext import plain_text
from reminderbot.testing.botapi import BotAPIStandIn, SentMessage
from tests.conftest import START, BotUnderTest, bot_settings

ROOT = Path(__file__).resolve().parent.parent
TEN = START.replace(hour=10)
FLAGS = ["Severe or frightening symptoms", "Needing more to feel the same",
         "Trouble stopping or cutting down", "Something I want to ask a provider",
         "None of these"]
EMERGENCY_EN = [
    "If this is an emergency, call your local emergency number now.",
    "Call for help straight away for trouble breathing, chest pain, fainting, a seizure, "
    "confusion, or if someone can't be woken.",
    "If you can, stay with someone and tell them how you feel.",
    "",
    "I'm a reminder bot and can't assess symptoms.",
]


def filled_in(tmp_path: Path, number: str = "112", poison: str = "+34 91 562 04 20") -> Path:
    """A copy of messages/ whose operator filled in both numbers for every language."""
    copy = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", copy)
    path = copy / "emergency.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('emergency_number: ""', f'emergency_number: "{number}"')
    path.write_text(text.replace('poison_centre: ""', f'poison_centre: "{poison}"'),
                    encoding="utf-8")
    return copy


async def answers(bot: BotUnderTest) -> list[str]:
    async with bot.dispatcher.runtime.sessions() as session:
        return list((await session.scalars(select(CheckinAnswer.answer))).all())


async def open_flags(bot: BotUnderTest) -> SentMessage:
    await bot.opt_in()
    _, [question] = await bot.at(TEN)
    replies, _ = await bot.press(question, "Something else")
    assert replies == []  # the same message now holds the red flags
    return question


async def test_something_else_opens_the_red_flags_in_place(bot: BotUnderTest) -> None:
    question = await open_flags(bot)
    assert question.plain_text == "Something else?\nPick what comes closest."
    assert [[label for label, _ in row] for row in question.buttons] == [[f] for f in FLAGS]
    assert await answers(bot) == []  # nothing is stored until a flag is picked


async def test_severe_symptoms_get_the_emergency_text_at_once(bot: BotUnderTest) -> None:
    question = await open_flags(bot)
    [reply], _ = await bot.press(question, "Severe or frightening symptoms")
    assert reply.plain_text.splitlines() == EMERGENCY_EN
    assert question.button_texts() == []  # picked once, it cannot count twice
    assert await answers(bot) == ["flag_severe"]


@pytest.mark.parametrize(
    ("flag", "code", "key"),
    [
        ("Needing more to feel the same", "flag_more", texts.RED_FLAG_REPLIES["more"]),
        ("Trouble stopping or cutting down", "flag_stopping",
         texts.RED_FLAG_REPLIES["stopping"]),
        ("Something I want to ask a provider", "flag_ask", texts.RED_FLAG_REPLIES["ask"]),
    ],
)
async def test_the_other_flags_get_their_guidance_and_the_provider_notes(
    bot: BotUnderTest, flag: str, code: str, key: texts.Key
) -> None:
    question = await open_flags(bot)
    [guidance, notes], _ = await bot.press(question, flag)
    catalog = bot.dispatcher.runtime.catalog
    assert guidance.plain_text == plain_text(catalog.render(key, "en"))
    assert notes.plain_text.splitlines()[:2] == [
        "Talking to a healthcare provider", "It helps to bring a few notes:"
    ]
    assert notes.plain_text == plain_text(catalog.render(texts.PROVIDER, "en"))
    assert await answers(bot) == [code]


async def test_none_of_these_is_the_plain_something_else(bot: BotUnderTest) -> None:
    question = await open_flags(bot)
    [reply], _ = await bot.press(question, "None of these")
    assert reply.plain_text.splitlines()[0] == "Thanks for telling me. I can't assess that here."
    assert await answers(bot) == ["other"]


async def test_a_red_flag_is_kept_out_of_the_history_chart(bot: BotUnderTest) -> None:
    # Only the answer code is stored; the chart shows symptoms, so it has nothing to draw.
    question = await open_flags(bot)
    await bot.press(question, "Trouble stopping or cutting down")
    [history] = await bot.send("/history")
    assert history.plain_text.startswith("Nothing logged in the last 14 days yet.")
    assert await answers(bot) == ["flag_stopping"]


async def test_red_flags_of_someone_who_stopped_are_answered_not_stored(
    bot: BotUnderTest,
) -> None:
    question = await open_flags(bot)
    await bot.send("/stop")
    [reply], _ = await bot.press(question, "Severe or frightening symptoms")
    assert reply.plain_text.splitlines() == EMERGENCY_EN
    assert await answers(bot) == []


@pytest.fixture
async def numbered_bot(
    api: BotAPIStandIn, database_url: str, tmp_path: Path
) -> AsyncIterator[BotUnderTest]:
    """The bot of an operator who filled in their emergency and poison-centre numbers."""
    settings = bot_settings(api, database_url, messages_dir=filled_in(tmp_path))
    harness = BotUnderTest(api, settings, ManualClock(START), dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_the_operators_numbers_are_shown_wherever_emergency_help_is(
    numbered_bot: BotUnderTest,
) -> None:
    question = await open_flags(numbered_bot)
    [reply], _ = await numbered_bot.press(question, "Severe or frightening symptoms")
    assert reply.plain_text.splitlines()[0] == (
        "If this is an emergency, call 112 (poison centre: +34 91 562 04 20) now."
    )
    [help_text] = await numbered_bot.send("/help")
    assert help_text.plain_text.splitlines()[-1] == (
        "Urgent help: if symptoms are severe, call 112 (poison centre: +34 91 562 04 20)."
    )
    [typed] = await numbered_bot.send("I think I took too much")
    assert typed.plain_text == reply.plain_text


def test_every_mention_of_emergency_help_carries_the_operators_number(tmp_path: Path) -> None:
    shipped, filled = load_catalog(), load_catalog(filled_in(tmp_path, "911", "1-800-222-1222"))
    mentions = 0
    for language in shipped.languages:
        default_words = shipped.emergency[language].without_number
        for key in texts.ALL_KEYS.values():
            params = {name: "X" for name in key.params}
            for variant in range(shipped.variant_count(key, language)):
                before = shipped.render(key, language, variant, **params)
                after = filled.render(key, language, variant, **params)
                if default_words in before:
                    mentions += 1
                    assert "911 (" in after and "1-800-222-1222" in after, (language, key)
                    assert default_words not in after, (language, key)
                else:
                    assert before == after, (language, key)
    assert mentions >= 2 * 12  # every guidance text, in both languages


def test_no_entry_writes_the_default_words_by_hand() -> None:
    # Emergency help goes through {emergency}, so the operator's number reaches every mention.
    for language in ("en", "es"):
        words = load_catalog().emergency[language].without_number
        for path in (ROOT / "messages" / language).glob("*.yaml"):
            assert words not in path.read_text(encoding="utf-8"), path


def test_check_warns_until_the_numbers_are_filled_in(tmp_path: Path) -> None:
    settings = load_settings(telegram_bot_token="123456789:AAtest-stand-in-token-0123456789")
    assert operator_warnings(settings, load_catalog()) == [
        "messages/emergency.yaml has no emergency number for en, es: users are told to call "
        "\"your local emergency number\"; put in your region's emergency and poison-centre "
        "numbers"
    ]
    assert operator_warnings(settings, load_catalog(filled_in(tmp_path))) == []


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('with_poison_centre: "{emergency} (poison', 'with_poison_centre: "(poison',
         "with_poison_centre must hold {emergency} and {poison_centre}"),
        ('emergency_number: "112"', 'emergency_number: "{1}"',
         "emergency_number may not contain curly braces"),
        ('  without_number: "your local emergency number"\n', "",
         "without_number is empty"),
    ],
)
def test_a_broken_emergency_file_stops_the_catalog_naming_the_field(
    tmp_path: Path, old: str, new: str, reason: str
) -> None:
    copy = filled_in(tmp_path)
    path = copy / "emergency.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"emergency\.yaml \(en\): " + reason.split()[0]):
        load_catalog(copy)


def test_an_operators_copy_without_the_file_uses_the_shipped_one(tmp_path: Path) -> None:
    copy = filled_in(tmp_path)
    (copy / "emergency.yaml").unlink()
    catalog = load_catalog(copy)
    assert catalog.emergency["en"].words() == "your local emergency number"


def test_the_numbers_are_escaped_as_plain_text(tmp_path: Path) -> None:
    catalog = load_catalog(filled_in(tmp_path, "1 & 2", "<3>"))
    text = catalog.render(texts.URGENT_EMERGENCY, "en")
    assert plain_text(text).splitlines()[0] == (
        "If this is an emergency, call 1 & 2 (poison centre: <3>) now."
    )
