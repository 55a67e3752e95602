"""Trust nothing a button says: a press counts only from the private chat the message was sent
to, by its user, on a message the bot sent for that purpose, and once. Anything else gets the
"no longer active" pop-up and changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.sql.schema import Table

from reminderbot import texts
from reminderbot.db.models import (
    Base,
    CheckinAnswer,
    HydrationDay,
    Prompt,
    Schedule,
    User,
    UserStatus,
)
from reminderbot.testing.botapi import FakeChat, FakeUser, SentMessage
from tests.conftest import START, BotUnderTest

NINE = START.replace(hour=9)
TEN = START.replace(hour=10)
EXPIRED = "This button is no longer active."
HYDRATION_BUTTONS = ["Done 💧", "Snooze 30 min", "I just took some"]
OTHER = FakeUser(id=8080, first_name="Alex")


async def count(bot: BotUnderTest, table: type[Base] | Table) -> int:
    selectable = table if isinstance(table, Table) else table.__table__
    async with bot.dispatcher.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(selectable)) or 0)


async def glasses(bot: BotUnderTest) -> int:
    async with bot.dispatcher.runtime.sessions() as session:
        return int(await session.scalar(select(func.coalesce(func.sum(HydrationDay.glasses), 0)))
                   or 0)


async def forge(bot: BotUnderTest, message: SentMessage, data: str,
                user: FakeUser | None = None) -> str | None:
    """``user`` sends a callback with ``data`` from ``message``; return the pop-up text.

    The clock moves 2 s first: a dozen presses at one instant would be a flood (throttled).
    """
    bot.clock.set(bot.clock.now() + timedelta(seconds=2))
    query_id = await bot.api.send_callback_data(user or bot.user, message, data)
    _, text, _ = await bot.api.wait_for_callback_answer(query_id)
    await bot.api.wait_until_idle(quiet=0.15)
    return text


def reply_text(bot: BotUnderTest, answer: str) -> str:
    """The guidance for a check-in answer, exactly as the bot sends it (English)."""
    return bot.dispatcher.runtime.catalog.render(texts.CHECKIN_REPLIES[answer], "en")


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records
            if r.exc_info is not None or r.levelno >= logging.ERROR] == []


async def test_a_forged_press_from_a_group_stores_and_posts_nothing(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    group = FakeChat(id=-100555, type="supergroup", title="Friends")
    await bot.api.send_message(bot.user, "/start", chat=group)
    await bot.api.wait_until_idle()
    [notice] = bot.api.messages_to(group.id)
    assert notice.plain_text == (
        "This bot works in private chats only. Please open a private chat with it."
    )
    for data in ("consent:yes", "consent:yes:clinic-a", "hydration:done", "checkin:fine",
                 "set:hyd:2", "stop:pause_week", "erase:yes", "discreet:on", "pause:1w"):
        assert await forge(bot, notice, data) == EXPIRED, data
    assert bot.api.messages_to(group.id) == [notice]  # nothing posted in the group
    assert bot.chat() == []  # nor anywhere else
    assert await count(bot, User) == 0
    no_tracebacks(caplog)


async def test_a_press_on_someone_elses_message_changes_nothing(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    [welcome] = await bot.send("/start")
    assert await forge(bot, welcome, "consent:yes", OTHER) == EXPIRED
    assert await count(bot, User) == 0 and bot.api.messages_to(OTHER.id) == []
    assert welcome.button_texts() == ["Yes, remind me", "Just information"]  # still theirs

    await bot.opt_in()
    _, [reminder] = await bot.at(NINE)
    [confirm] = await bot.send("/delete")
    chat_before = len(bot.chat())
    for message, data in ((reminder, "hydration:done"), (reminder, "snooze:hydration"),
                          (confirm, "erase:yes")):
        assert await forge(bot, message, data, OTHER) == EXPIRED, data
    await bot.opt_in_as(OTHER)  # a stored user pressing someone else's buttons: the same
    assert await forge(bot, reminder, "hydration:done", OTHER) == EXPIRED
    assert await glasses(bot) == 0 and len(bot.chat()) == chat_before
    assert reminder.button_texts() == HYDRATION_BUTTONS and confirm.button_texts() == [
        "Yes, erase everything", "No, keep it"
    ]
    assert await count(bot, User) == 2
    async with bot.dispatcher.runtime.sessions() as session:
        once = await session.scalar(select(func.count()).select_from(Schedule)
                                    .where(Schedule.once.is_(True)))
    assert once == 0  # no snooze either
    no_tracebacks(caplog)


async def test_a_button_counts_only_on_a_message_of_its_kind(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.opt_in()
    _, [reminder] = await bot.at(NINE)
    _, [checkin] = await bot.at(TEN)
    [menu] = await bot.send("/settings")
    chat_before = len(bot.chat())
    forged = [
        (reminder, "checkin:nausea"), (reminder, "checkin:other"), (reminder, "flag:severe"),
        (reminder, "tolerance:more"), (reminder, "snooze:checkin"),
        (checkin, "hydration:done"), (checkin, "tolerance:same"), (checkin, "snooze:hydration"),
        (menu, "hydration:done"), (menu, "checkin:fine"), (menu, "flag:other"),
    ]
    for message, data in forged:
        assert await forge(bot, message, data) == EXPIRED, data
    assert len(bot.chat()) == chat_before  # no guidance, no emergency text, no thanks
    assert await glasses(bot) == 0 and await count(bot, CheckinAnswer) == 0
    # The messages keep their own buttons, and those still work.
    assert reminder.button_texts() == HYDRATION_BUTTONS and reminder.edits == 0
    assert checkin.button_texts()[0] == "Fine" and checkin.edits == 0
    [thanks], _ = await bot.press(reminder, "Done 💧")
    assert thanks.plain_text == "Thanks. Glasses logged today: 1"
    [guidance], _ = await bot.press(checkin, "Headache")
    assert guidance.text == reply_text(bot, "headache")
    async with bot.dispatcher.runtime.sessions() as session:
        assert (await session.scalars(select(CheckinAnswer.answer))).all() == ["headache"]
    no_tracebacks(caplog)


async def test_a_repeated_press_counts_once(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.opt_in()
    _, [reminder] = await bot.at(NINE)
    _, [checkin] = await bot.at(TEN)
    for message, data in ((reminder, "hydration:done"), (checkin, "checkin:nausea")):
        # Two taps before the bot saw either: both carry the message with its buttons.
        first = await bot.api.send_callback_data(bot.user, message, data)
        second = await bot.api.send_callback_data(bot.user, message, data)
        answers = sorted([(await bot.api.wait_for_callback_answer(q))[1] or ""
                          for q in (first, second)])
        await bot.api.wait_until_idle(quiet=0.15)
        assert answers == ["", EXPIRED], data
        assert message.button_texts() == []
    assert await glasses(bot) == 1 and await count(bot, CheckinAnswer) == 1
    # One thanks and one guidance (with nothing more after the second taps).
    assert bot.chat()[-2].plain_text == "Thanks. Glasses logged today: 1"
    # A replayed press long after: the same.
    assert await forge(bot, reminder, "hydration:done") == EXPIRED
    assert await glasses(bot) == 1
    no_tracebacks(caplog)


async def test_a_press_without_a_message_is_answered_and_ignored(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    for data in ("consent:yes", "hydration:done", "checkin:fine", "set:menu"):
        query_id = await bot.api.send_inline_callback(bot.user, data)
        _, text, _ = await bot.api.wait_for_callback_answer(query_id)
        assert text == EXPIRED, data
    await bot.api.wait_until_idle()
    assert bot.chat() == [] and await count(bot, User) == 0
    no_tracebacks(caplog)


async def test_the_checkin_command_question_counts_once(bot: BotUnderTest) -> None:
    [question] = await bot.send("/checkin")  # someone who only reads: guidance, nothing stored
    [guidance], _ = await bot.press(question, "Nausea")
    assert guidance.text == reply_text(bot, "nausea")
    assert await count(bot, User) == 0 and await count(bot, CheckinAnswer) == 0
    await bot.opt_in()
    [question] = await bot.send("/checkin")
    await bot.press(question, "Anxiety")
    assert await forge(bot, question, "checkin:fine") == EXPIRED
    async with bot.dispatcher.runtime.sessions() as session:
        assert (await session.scalars(select(CheckinAnswer.answer))).all() == ["anxiety"]


async def test_prompts_are_exported_and_erased_with_everything_else(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.at(NINE)
    assert await count(bot, Prompt) == 1
    [confirm] = await bot.send("/delete")
    await bot.press(confirm, "Yes, erase everything")
    assert await count(bot, Prompt) == 0 and await count(bot, User) == 0


async def test_a_forgotten_prompt_no_longer_counts(bot: BotUnderTest) -> None:
    await bot.opt_in()
    _, [reminder] = await bot.at(NINE)
    bot.clock.set(NINE + timedelta(days=8))
    [], answer = await bot.press(reminder, "Done 💧")
    assert answer[1] == EXPIRED and await glasses(bot) == 0


async def test_a_stopped_user_gets_guidance_but_nothing_is_stored(bot: BotUnderTest) -> None:
    await bot.opt_in()
    _, [checkin] = await bot.at(TEN)
    await bot.send("/stop")
    [guidance], _ = await bot.press(checkin, "Headache")
    assert guidance.text == reply_text(bot, "headache")
    assert await count(bot, CheckinAnswer) == 0
    async with bot.dispatcher.runtime.sessions() as session:
        user = await session.scalar(select(User))
    assert user is not None and user.status == UserStatus.STOPPED
