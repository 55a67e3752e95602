"""Tests for the loopback Bot API stand-in, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Location,
    MessageEntity,
    ReplyKeyboardMarkup,
    Update,
)
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
    MessageHandler,
    filters,
)

from reminderbot.testing.botapi import (
    BotAPIStandIn,
    FakeChat,
    FakeUser,
    StandInEvent,
    UploadedFile,
    image_size,
    photo_sizes,
)

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


# ---------------------------------------------------------------- photos and documents


def png(width: int, height: int) -> bytes:
    """A real (decodable) RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def jpeg_header(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: SOI, a JFIF APP0 segment and the SOF0 frame header."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    return b"\xff\xd8" + app0 + sof0


async def test_photo_and_document_are_recorded(standin: BotAPIStandIn, bot: Bot) -> None:
    events: list[StandInEvent] = []
    standin.subscribe(events.append)
    chart = png(1000, 640)
    export = json.dumps({"timezone": "Europe/Berlin", "glasses": [1, 3]}).encode()

    photo = await bot.send_photo(ALICE.id, chart, caption="<b>Your</b> last 14 days ",
                                 parse_mode="HTML", filename="chart.png",
                                 reply_markup=keyboard())
    document = await bot.send_document(ALICE.id, InputFile(export, filename="mydata.json"),
                                       caption="Everything stored about you, as JSON.")

    assert [(p.width, p.height) for p in photo.photo] == [
        (90, 58), (320, 205), (800, 512), (1000, 640)
    ]
    assert photo.photo[-1].file_size == len(chart)
    assert len({p.file_unique_id for p in photo.photo}) == 4
    assert photo.caption == "Your last 14 days"
    assert photo.caption_entities == (MessageEntity("bold", 0, 4),)
    assert photo.text is None and photo.reply_markup == keyboard()
    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type,
            document.document.file_size) == ("mydata.json", "application/json", len(export))
    assert document.caption == "Everything stored about you, as JSON."

    sent_photo, sent_document = standin.messages_to(ALICE.id)
    assert (sent_photo.message_id, sent_photo.photo, sent_photo.document) == (1, chart, None)
    assert sent_photo.filename == "chart.png" and sent_photo.mime_type is None
    assert sent_photo.text == "<b>Your</b> last 14 days " and sent_photo.parse_mode == "HTML"
    assert sent_photo.plain_text == "Your last 14 days"
    assert sent_photo.entities == [{"type": "bold", "offset": 0, "length": 4}]
    assert sent_photo.button_texts() == ["Yes", "No", "Docs"]
    assert (sent_document.message_id, sent_document.document, sent_document.photo) == (
        2, export, None
    )
    assert (sent_document.filename, sent_document.mime_type) == ("mydata.json", "application/json")
    assert sent_document.text == sent_document.plain_text == document.caption
    assert sent_document.entities == [] and sent_document.parse_mode is None
    assert [e.kind for e in events] == ["sent", "sent"]
    upload = standin.calls[-1].params["document"]
    assert upload == UploadedFile("mydata.json", "application/json", export)

    # A file sent before is sent again by its file_id, as on Telegram.
    again = await bot.send_photo(BOB.id, photo.photo[0].file_id)
    assert again.photo == photo.photo and again.caption is None
    assert standin.sent[-1].photo == chart and standin.sent[-1].plain_text == ""
    with pytest.raises(BadRequest) as wrong_kind:
        await bot.send_document(BOB.id, photo.photo[-1].file_id)
    assert wrong_kind.value.message == "Can't use file of type photo as document"  # PTB's case

    # A photo has no text to edit, but its buttons can go.
    with pytest.raises(BadRequest) as no_text:
        await bot.edit_message_text("x", chat_id=ALICE.id, message_id=1)
    assert no_text.value.message == "There is no text in the message to edit"
    edited = await bot.edit_message_reply_markup(ALICE.id, 1)
    assert not isinstance(edited, bool)
    assert edited.photo == photo.photo and edited.reply_markup is None
    assert sent_photo.buttons == [] and sent_photo.edits == 1


async def test_a_jpeg_photo_keeps_its_size(standin: BotAPIStandIn, bot: Bot) -> None:
    message = await bot.send_photo(ALICE.id, jpeg_header(64, 48) + b"\xff\xd9")
    assert [(p.width, p.height) for p in message.photo] == [(64, 48)]


async def post_multipart(standin: BotAPIStandIn, method: str, data: dict[str, str],
                         files: dict[str, tuple[str, bytes, str]]) -> tuple[int, object]:
    """Post a multipart request the way PTB does, and return Telegram's answer as sent."""
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{standin.base_url}{standin.token}/{method}", data=data,
                                   files=files)
    return answer.status_code, answer.json()


@pytest.mark.parametrize(
    ("method", "part", "content", "description"),
    [
        ("sendPhoto", "photo", b"", "Bad Request: file must be non-empty"),
        ("sendDocument", "document", b"", "Bad Request: file must be non-empty"),
        ("sendPhoto", "photo", b"GIF89a\x01\x00\x01\x00", "Bad Request: IMAGE_PROCESS_FAILED"),
        ("sendPhoto", "photo", b"\x89PNG\r\n\x1a\n", "Bad Request: IMAGE_PROCESS_FAILED"),
        ("sendPhoto", "photo", png(10, 300), "Bad Request: PHOTO_INVALID_DIMENSIONS"),
        ("sendPhoto", "photo", png(1, 1) + b"x", "Bad Request: message caption is too long"),
    ],
)
async def test_bad_uploads_are_refused_as_telegram_does(
    standin: BotAPIStandIn, method: str, part: str, content: bytes, description: str
) -> None:
    caption = "<b>" + "x" * 1025 + "</b>" if "caption" in description else "ok"
    status, body = await post_multipart(
        standin, method, {"chat_id": str(ALICE.id), "caption": caption, "parse_mode": "HTML"},
        {part: ("upload.bin", content, "application/octet-stream")},
    )
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})
    assert standin.sent == []


async def test_a_bad_image_fails_in_ptb_with_telegrams_error(
    standin: BotAPIStandIn, bot: Bot
) -> None:
    with pytest.raises(BadRequest) as refused:
        await bot.send_photo(ALICE.id, b"this is not an image", caption="chart")
    assert refused.value.message == "Image_process_failed"  # PTB's rendering of the description
    # At most 1024 characters after parsing; the markup does not count.
    await bot.send_photo(ALICE.id, png(2, 2), caption="<i>" + "y" * 1024 + "</i>",
                         parse_mode="HTML")
    assert standin.sent[-1].plain_text == "y" * 1024
    assert [c.status for c in standin.calls if c.method == "sendPhoto"] == [400, 200]


async def test_file_references_that_cannot_be_served(standin: BotAPIStandIn) -> None:
    answers = [
        await post_multipart(standin, "sendPhoto", {"chat_id": "1", "photo": photo}, {})
        for photo in ("", "https://example.org/chart.png", "no-such-file-id", "attach://gone")
    ]
    assert [body for _, body in answers] == [
        {"ok": False, "error_code": 400, "description": description}
        for description in (
            "Bad Request: there is no photo in the request",
            "Bad Request: failed to get HTTP URL content",
            "Bad Request: wrong file identifier/HTTP URL specified",
            "Bad Request: there is no photo in the request",
        )
    ]
    status, _ = await post_multipart(
        standin, "sendDocument", {"chat_id": "1", "document": "attach://file1"},
        {"file1": ("notes.txt", b"hello", "text/plain")},
    )
    assert status == 200
    assert standin.sent[-1].document == b"hello" and standin.sent[-1].filename == "notes.txt"
    assert standin.sent[-1].mime_type == "text/plain"


async def test_blocked_chats_and_injected_errors_apply_to_files(
    standin: BotAPIStandIn, bot: Bot
) -> None:
    standin.block(ALICE.id)
    with pytest.raises(Forbidden):
        await bot.send_photo(ALICE.id, png(4, 4))
    with pytest.raises(Forbidden):
        await bot.send_document(ALICE.id, b"{}", filename="mydata.json")
    standin.unblock(ALICE.id)
    standin.fail_next("sendDocument", status=429, retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.send_document(ALICE.id, b"{}", filename="mydata.json")
    standin.fail_next("sendPhoto", status=500)
    with pytest.raises(NetworkError):
        await bot.send_photo(ALICE.id, png(4, 4))
    await bot.send_document(ALICE.id, b"{}", filename="mydata.json")
    assert [(c.method, c.status) for c in standin.calls if c.method.startswith("send")] == [
        ("sendPhoto", 403), ("sendDocument", 403), ("sendDocument", 429), ("sendPhoto", 500),
        ("sendDocument", 200),
    ]
    assert [m.filename for m in standin.sent] == ["mydata.json"]


async def test_reply_keyboard_is_recorded_but_not_echoed(standin: BotAPIStandIn, bot: Bot) -> None:
    markup = ReplyKeyboardMarkup([[KeyboardButton("📍 Share my location", request_location=True)],
                                  ["Later"]], one_time_keyboard=True)
    message = await bot.send_message(ALICE.id, "Where are you?", reply_markup=markup)
    assert message.reply_markup is None  # Telegram only echoes inline keyboards
    assert standin.sent[-1].reply_keyboard == [
        [{"text": "📍 Share my location", "request_location": True}], [{"text": "Later"}]
    ]
    assert standin.sent[-1].buttons == []


def test_image_size_reads_png_and_jpeg_headers() -> None:
    assert image_size(png(1000, 640)) == (1000, 640)
    assert image_size(jpeg_header(64, 48)) == (64, 48)
    # Fill bytes and restart markers before the frame header are skipped.
    assert image_size(b"\xff\xd8\xff\xff\xd0" + jpeg_header(7, 9)[2:]) == (7, 9)
    for not_an_image in (b"", b"GIF89a", b"\x89PNG\r\n\x1a\n", png(0, 5), b"\xff\xd8\xff\xda",
                         jpeg_header(0, 5), b"%PDF-1.7"):
        assert image_size(not_an_image) is None, not_an_image


@given(st.binary(max_size=64))
def test_image_size_never_fails_on_arbitrary_bytes(data: bytes) -> None:
    size = image_size(data)
    assert size is None or (size[0] > 0 and size[1] > 0)


@given(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1))
def test_image_size_is_what_the_png_header_says(width: int, height: int) -> None:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    assert image_size(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + header) == (width, height)


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_photo_sizes_grow_to_the_photo(width: int, height: int) -> None:
    sizes = photo_sizes(width, height)
    longest = [max(w, h) for w, h in sizes]
    assert longest == sorted(longest) and longest[-1] == min(max(width, height), 2560)
    assert all(side <= box for side, box in zip(longest, (90, 320, 800, 1280, 2560), strict=False))
    if max(width, height) <= 2560:
        assert sizes[-1] == (width, height)


# ---------------------------------------------------------------- shared locations


async def test_send_location_arrives_as_a_location(standin: BotAPIStandIn, bot: Bot) -> None:
    sent = await standin.send_location(ALICE, 52.52, 13.40)
    group = FakeChat(id=-100500, type="group", title="Friends")
    await standin.send_location(BOB, -33.8688, 151.2093, group)
    updates = await bot.get_updates(timeout=0)

    first, second = (update.message for update in updates)
    assert first is not None and second is not None
    assert first.location == Location(longitude=13.40, latitude=52.52)
    assert (first.location.latitude, first.location.longitude) == (52.52, 13.40)
    assert first.text is None and first.entities == ()
    assert first.from_user is not None and first.from_user.id == ALICE.id
    assert (first.chat.id, first.chat.type, first.message_id) == (ALICE.id, "private",
                                                                  sent["message_id"])
    assert first.date == NOW
    assert second.location == Location(longitude=151.2093, latitude=-33.8688)
    assert (second.chat.id, second.chat.type, second.chat.title) == (-100500, "group", "Friends")
    for latitude, longitude in ((90.5, 0.0), (0.0, -180.01)):
        with pytest.raises(ValueError, match="no such place"):
            await standin.send_location(ALICE, latitude, longitude)
    assert standin.pending_updates == 2


async def test_a_location_reaches_an_application_handler(standin: BotAPIStandIn) -> None:
    seen: list[tuple[float, float]] = []

    async def located(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.location is not None
        seen.append((update.message.location.latitude, update.message.location.longitude))
        await update.message.reply_text("Got it")

    app = Application.builder().token(standin.token).base_url(standin.base_url).build()
    app.add_handler(MessageHandler(filters.LOCATION, located))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]
        await app.start()
        await standin.send_location(ALICE, 52.52, 13.40)
        [answer] = await standin.wait_for_messages(ALICE.id, 1, timeout=5)
        assert await standin.wait_for_poll(timeout=5)
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
    assert seen == [(52.52, 13.40)] and answer.plain_text == "Got it"
