"""Tests for the loopback Bot API stand-in, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, StandInEvent

ALICE = FakeUser(id=1001, first_name="Alice")
BOB = FakeUser(id=1002, first_name="Bob")
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandIn]:
    async with BotAPIStandIn(clock=lambda: NOW) as server:
        yield server


@pytest.fixture
async def bot(standin: BotAPIStandIn) -> AsyncIterator[Bot]:
    client = Bot(standin.token, base_url=standin.base_url, base_file_url=standin.base_file_url)
    await client.initialize()
    yield client
    await client.shutdown()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data="yes"),
             InlineKeyboardButton("No", callback_data="no")],
            [InlineKeyboardButton("Docs", url="https://example.org/")],
        ]
    )


async def test_send_is_recorded_with_buttons(standin: BotAPIStandIn, bot: Bot) -> None:
    events: list[StandInEvent] = []
    standin.subscribe(events.append)
    assert bot.username == "reminderbot_test_bot"

    first = await bot.send_message(ALICE.id, "Drink <b>water</b> &amp; rest", parse_mode="HTML",
                                   reply_markup=keyboard())
    second = await bot.send_message(ALICE.id, "again")
    other = await bot.send_message(BOB.id, "hi Bob")

    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.text == "Drink water & rest"
    assert first.parse_entities() == {first.entities[0]: "water"}
    assert first.date == NOW
    assert first.reply_markup == keyboard()
    assert first.from_user is not None and first.from_user.id == standin.bot_id

    recorded = standin.messages_to(ALICE.id)
    assert [m.plain_text for m in recorded] == ["Drink water & rest", "again"]
    assert recorded[0].text == "Drink <b>water</b> &amp; rest"
    assert recorded[0].parse_mode == "HTML"
    assert recorded[0].buttons == [[("Yes", "yes"), ("No", "no")],
                                   [("Docs", "https://example.org/")]]
    assert recorded[0].button_texts() == ["Yes", "No", "Docs"]
    assert [e.kind for e in events] == ["sent", "sent", "sent"]

    edited = await bot.edit_message_text("Done", chat_id=ALICE.id, message_id=1)
    assert isinstance(edited, type(first)) and edited.reply_markup is None
    assert recorded[0].plain_text == "Done" and recorded[0].edits == 1
    assert recorded[0].buttons == []
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Done", chat_id=ALICE.id, message_id=1)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE.id, message_id=99)
    assert events[-1].kind == "edited"
    assert [c.status for c in standin.calls if c.method == "editMessageText"] == [200, 400, 400]


async def test_long_poll_delivers_message_and_button_press(
    standin: BotAPIStandIn, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()  # waiting for an update
    sent = await standin.send_message(ALICE, "/start@reminderbot_test_bot")
    updates = await asyncio.wait_for(poll, 2)

    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == sent["text"]
    assert message.from_user is not None and message.from_user.id == ALICE.id
    assert message.parse_entities(["bot_command"])
    assert standin.pending_updates == 1

    # Not confirmed yet: delivered again.
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]

    menu = await bot.send_message(ALICE.id, "Pick one", reply_markup=keyboard())
    query_id = await standin.press_button(ALICE, standin.sent[-1], "No")
    with pytest.raises(LookupError):
        await standin.press_button(ALICE, standin.sent[-1], "Maybe")
    with pytest.raises(LookupError):
        await standin.press_button(ALICE, standin.sent[-1], "Docs")  # a URL button

    updates = await bot.get_updates(offset=updates[0].update_id + 1, timeout=5)
    assert standin.pending_updates == 1
    query = updates[0].callback_query
    assert query is not None and query.id == query_id and query.data == "no"
    assert query.message is not None and query.message.message_id == menu.message_id

    await query.answer("Noted", show_alert=True)
    assert await standin.wait_for_callback_answer(query_id, timeout=1) == (query_id, "Noted", True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()

    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert standin.pending_updates == 0


async def test_errors_map_to_ptb_exceptions(
    standin: BotAPIStandIn, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")

    standin.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(ALICE.id, "hi")

    standin.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ALICE.id, "hi")
    assert flood.value.retry_after == timedelta(seconds=7)

    standin.fail_next("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError) as server_error:
            await bot.send_message(ALICE.id, "hi")
        assert type(server_error.value) is NetworkError

    standin.fail_next("sendMessage", status=400, description="Bad Request: chat not found",
                      chat_id=BOB.id)
    await bot.send_message(ALICE.id, "only Bob's chat fails")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(BOB.id, "hi")

    standin.block(BOB.id)
    with pytest.raises(Forbidden):
        await bot.send_message(BOB.id, "hi")
    standin.unblock(BOB.id)
    await bot.send_message(BOB.id, "hi")

    assert [m.plain_text for m in standin.sent] == ["only Bob's chat fails", "hi"]
    assert [c.status for c in standin.calls if c.method == "sendMessage"] == [
        403, 429, 500, 500, 200, 400, 403, 200
    ]

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    wrong = Bot("42:WRONG", base_url=standin.base_url)
    try:
        with pytest.raises(InvalidToken):
            await wrong.initialize()
    finally:
        await wrong.shutdown()


@pytest.mark.parametrize(
    "text",
    [
        "<b>unclosed",
        "1 < 2",
        "<script>alert(1)</script>",
        "<b>bold</i>",
        "<span>needs a class</span>",
        '<a href="https://x">ok</a></b>',
    ],
)
async def test_malformed_html_is_rejected(bot: Bot, standin: BotAPIStandIn, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(ALICE.id, text, parse_mode="HTML")
    assert standin.sent == []


async def test_text_limits(bot: Bot, standin: BotAPIStandIn) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ALICE.id, "x" * 5000)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ALICE.id, "  \n ")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ALICE.id, "<b> </b>", parse_mode="HTML")
    await bot.send_message(ALICE.id, "x" * 4096)
    # The limit applies after entity parsing.
    await bot.send_message(ALICE.id, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(ALICE.id, "a & b, 3 > 2, &nbsp; <i>fine</i>", parse_mode="HTML")
    assert standin.sent[-1].plain_text == "a & b, 3 > 2, &nbsp; fine"

    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE.id, "menu", reply_markup=too_long)
    assert len(standin.sent) == 3


async def test_stop_interrupts_a_long_poll() -> None:
    standin = BotAPIStandIn()
    await standin.start()
    bot = Bot(standin.token, base_url=standin.base_url)
    await bot.initialize()
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await standin.stop()
        assert time.monotonic() - started < 2
        assert await asyncio.wait_for(poll, 2) == ()
    finally:
        await bot.shutdown()


async def test_application_end_to_end(standin: BotAPIStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "Hello! Want a reminder?", reply_markup=keyboard()
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("OK")
        await query.edit_message_text(f"You chose: <b>{query.data}</b>", parse_mode="HTML")

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        await app.bot.set_my_commands([("start", "Start the bot")])

    app = (
        Application.builder()
        .token(standin.token)
        .base_url(standin.base_url)
        .post_init(post_init)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.post_init(app)  # type: ignore[misc]
        await app.updater.start_polling(poll_interval=0, timeout=1,  # type: ignore[union-attr]
                                        allowed_updates=Update.ALL_TYPES)
        await app.start()
        await standin.send_message(ALICE, "/start")
        [menu] = await standin.wait_for_messages(ALICE.id, 1, timeout=5)
        assert menu.plain_text == "Hello! Want a reminder?"
        query_id = await standin.press_button(ALICE, menu, "yes")
        assert (await standin.wait_for_callback_answer(query_id, timeout=5))[1] == "OK"
        await standin.wait_until_idle(timeout=5)
        assert menu.plain_text == "You chose: yes" and menu.edits == 1
        assert standin.pending_updates == 0
        assert standin.my_commands == [{"command": "start", "description": "Start the bot"}]
        with pytest.raises(TimeoutError, match="You chose: yes"):
            await standin.wait_for_messages(ALICE.id, 2, timeout=0.1)
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
    assert {c.status for c in standin.calls} == {200}
    assert {"getMe", "deleteWebhook", "setMyCommands", "getUpdates", "sendMessage",
            "answerCallbackQuery", "editMessageText"} == {c.method for c in standin.calls}
