"""A loopback stand-in for the Telegram Bot API.

:class:`BotAPIStandIn` serves ``/bot<token>/<method>`` over HTTP on 127.0.0.1 so that the real
python-telegram-bot client (``telegram.Bot`` / ``Application`` built with
``.base_url(standin.base_url)``) talks to it exactly as it would talk to Telegram.  Tests act as
users (:meth:`BotAPIStandIn.send_message`, :meth:`BotAPIStandIn.send_location`,
:meth:`BotAPIStandIn.press_button`, ...), the bot receives those as updates through
``getUpdates`` long polling, and everything the bot sends is recorded
(:attr:`BotAPIStandIn.sent`, :attr:`BotAPIStandIn.calls`): text messages, and photos and
documents uploaded as multipart/form-data (``sendPhoto``, ``sendDocument``).

Requests are validated the way Telegram validates them (empty or over-long text and captions,
malformed or unsupported HTML, over-long callback data, edits of unknown or unchanged messages,
empty files, photos that are not PNG or JPEG images or have impossible dimensions), and
Telegram's errors can be injected with :meth:`BotAPIStandIn.fail_next` and
:meth:`BotAPIStandIn.block`.  Message text and file contents are never logged.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import mimetypes
import re
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiohttp import web

__all__ = [
    "ApiCall",
    "BotAPIStandIn",
    "FakeChat",
    "FakeUser",
    "SentMessage",
    "StandInEvent",
    "UploadedFile",
]

_log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram's limit for a multipart upload by a bot
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

# Parameters that are JSON-encoded (or numbers/booleans) when PTB posts form fields.
_JSON_PARAMS = frozenset(
    {
        "allow_sending_without_reply",
        "allowed_updates",
        "cache_time",
        "caption_entities",
        "chat_id",
        "commands",
        "disable_content_type_detection",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "entities",
        "has_spoiler",
        "limit",
        "link_preview_options",
        "message_id",
        "message_thread_id",
        "offset",
        "protect_content",
        "reply_markup",
        "reply_parameters",
        "reply_to_message_id",
        "scope",
        "show_alert",
        "show_caption_above_media",
        "timeout",
    }
)
# Methods that address a chat and therefore fail with 403 once the chat blocked the bot.
_CHAT_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "editmessagetext",
        "editmessagereplymarkup",
        "deletemessage",
        "sendchataction",
    }
)
# Methods that send a new message: what Telegram's message limits count.
_SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(?:#[xX]([0-9a-fA-F]{1,8})|#([0-9]{1,8})|(lt|gt|amp|quot));?")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?")
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
# JPEG start-of-frame markers (they carry the size); C4, C8 and CC are other segments.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Telegram's photo sizes: each box it scales a photo into, smallest first.
_PHOTO_BOXES = (90, 320, 800, 1280, 2560)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user the tests act as.  Their private chat has the same id."""

    id: int
    first_name: str = "Test"
    language_code: str | None = "en"


@dataclass(frozen=True)
class FakeChat:
    """A chat the fake users write in: ``"private"``, ``"group"`` or ``"supergroup"``."""

    id: int
    type: str
    title: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent, kept current as the bot edits or deletes it.

    ``text`` and ``parse_mode`` are exactly what the bot sent; ``plain_text`` and ``entities``
    are what the user reads after Telegram parsed the markup.  For a photo or a document,
    ``text`` is the raw caption (``""`` without one) and ``plain_text``/``entities`` are the
    parsed caption; ``photo`` or ``document`` holds the uploaded bytes, ``filename`` the name
    the bot uploaded them under and ``mime_type`` the document's type as Telegram reports it.
    """

    message_id: int
    chat_id: int
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    date: datetime
    edits: int = 0
    plain_text: str = ""
    entities: list[JSONDict] = field(default_factory=list)
    edit_date: datetime | None = None
    deleted: bool = False
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as ``(text, callback_data or url)`` pairs."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [(str(b.get("text", "")), b.get("callback_data", b.get("url"))) for b in row]
            for row in rows
        ]

    def button_texts(self) -> list[str]:
        """All inline button texts, row by row."""
        return [text for row in self.buttons for text, _ in row]

    @property
    def reply_keyboard(self) -> list[list[JSONDict]]:
        """Rows of the reply keyboard (``ReplyKeyboardMarkup``) sent with the message, each
        button as a dict with ``text`` (and ``request_location`` etc. when set)."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [
            [b if isinstance(b, dict) else {"text": str(b)} for b in row]
            for row in rows
            if isinstance(row, list)
        ]


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart/form-data request, as the bot uploaded it."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class ApiCall:
    """One request the bot made, with its decoded parameters and the HTTP status answered."""

    method: str
    params: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)  # when it was answered (monotonic clock)
    # The Host the request named: bots given different base URLs (127.0.0.1, localhost) apart.
    host: str = ""


@dataclass
class StandInEvent:
    """Something the user would notice: ``"sent"``, ``"edited"``, ``"callback_answer"``,
    ``"deleted"``.  ``text`` is the callback answer's text (``None`` for other kinds)."""

    kind: str
    message: SentMessage | None
    text: str | None


class _ApiError(Exception):
    """An error answer in Telegram's envelope."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class _Failure:
    method: str
    error: _ApiError
    chat_id: int | None
    times: int


@dataclass
class _NetworkFault:
    """A call carried out, then answered ``delay`` seconds late (``None``: never; the
    connection is dropped instead)."""

    method: str
    chat_id: int | None
    times: int
    delay: float | None


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode an HTML entity at ``pos`` the way Telegram does; ``None`` leaves ``&`` literal."""
    match = _HTML_ENTITY.match(text, pos)
    if match is None:
        return None
    hex_code, dec_code, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES[name], match.end()
    code = int(hex_code, 16) if hex_code is not None else int(dec_code)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into plain text and entities (offsets in UTF-16 units).

    Raises ``_ApiError`` with Telegram's "can't parse entities" description on malformed markup.
    """

    def fail(reason: str) -> _ApiError:
        return _ApiError(400, f"Bad Request: can't parse entities: {reason}")

    def at(pos: int) -> str:
        return f"at byte offset {len(text[:pos].encode())}"

    out: list[str] = []
    u16 = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    attrs: dict[str, str]
    entities: list[JSONDict] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        decoded = _decode_entity(text, i) if char == "&" else None
        if decoded is not None or char != "<":
            piece, i = decoded if decoded is not None else (char, i + 1)
            out.append(piece)
            u16 += _u16(piece)
            continue
        begin, j = i, i + 1
        if j < n and text[j] == "/":
            if not stack:
                raise fail(f"Unexpected end tag {at(begin)}")
            j += 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[begin + 2 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise fail(f"Unclosed end tag {at(begin)}")
            tag, start, attrs = stack.pop()
            if end_name and end_name != tag:
                raise fail(
                    f'Unmatched end tag {at(begin)}, expected "</{tag}>", found "</{end_name}>"'
                )
            entity = _html_entity(tag, start, u16 - start, attrs, stack)
            if entity is not None:
                entities.append(entity)
            i = j + 1
            continue
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise fail(f"Unclosed start tag {at(begin)}")
        tag = text[begin + 1 : j].lower()
        if tag not in _HTML_TAGS:
            raise fail(f'Unsupported start tag "{tag}" {at(begin)}')
        attrs = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise fail(f'Unclosed start tag "{tag}" {at(begin)}')
            if text[j] == ">":
                break
            name_start = j
            while j < n and not text[j].isspace() and text[j] not in "=>":
                j += 1
            name = text[name_start:j]
            if not name:
                raise fail(f'Empty attribute name in the tag "{tag}" {at(begin)}')
            while j < n and text[j].isspace():
                j += 1
            if tag == "blockquote" and name == "expandable" and (j >= n or text[j] != "="):
                attrs[name] = ""
                continue
            if j >= n or text[j] != "=":
                raise fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"{at(begin)}"
                )
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise fail(f'Unclosed start tag "{tag}" {at(begin)}')
            if text[j] in "'\"":
                quote, value_chars = text[j], list[str]()
                j += 1
                while j < n and text[j] != quote:
                    dec = _decode_entity(text, j) if text[j] == "&" else None
                    piece, j = dec if dec is not None else (text[j], j + 1)
                    value_chars.append(piece)
                j += 1
                value = "".join(value_chars)
            else:
                token_start = j
                while j < n and (text[j].isalnum() or text[j] in ".-"):
                    j += 1
                value = text[token_start:j].lower()
                if j < n and not text[j].isspace() and text[j] != ">":
                    raise fail(f"Unexpected end of name token {at(token_start)}")
            if j >= n:
                raise fail(f"Unclosed start tag {at(begin)}")
            attrs[name] = value
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise fail(f'Tag "span" must have class "tg-spoiler" {at(begin)}')
        stack.append((tag, u16, attrs))
        i = j + 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_entity(
    tag: str,
    offset: int,
    length: int,
    attrs: dict[str, str],
    outer: list[tuple[str, int, dict[str, str]]],
) -> JSONDict | None:
    """The entity a closed HTML tag produces, or ``None`` (empty, or merged into ``<pre>``)."""
    entity: JSONDict = {"type": _HTML_TAGS[tag], "offset": offset, "length": length}
    language = attrs.get("class", "")
    if tag == "code" and language.startswith("language-") and outer and outer[-1][0] == "pre":
        outer[-1][2]["language"] = language.removeprefix("language-")
        return None
    if length == 0:
        return None
    if tag == "a":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif tag == "tg-emoji":
        if "emoji-id" not in attrs:
            return None
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def _strip(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Trim surrounding whitespace as Telegram does, shifting and clipping the entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    left = _u16(text[: len(text) - len(text.lstrip())])
    total = _u16(stripped)
    result = []
    for entity in entities:
        start = max(0, entity["offset"] - left)
        end = min(total, entity["offset"] + entity["length"] - left)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def _inline_keyboard(markup: dict[str, Any] | None) -> list[Any] | None:
    """The non-empty inline keyboard of a reply markup, or ``None``."""
    rows = (markup or {}).get("inline_keyboard")
    if isinstance(rows, list) and any(isinstance(row, list) and row for row in rows):
        return rows
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG (from its IHDR) or JPEG (from its start-of-frame) image;
    ``None`` for anything else, which Telegram cannot process as a photo."""
    if data.startswith(_PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", data[16:24])
        return (width, height) if width and height else None
    if not data.startswith(_JPEG_SIGNATURE):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if length < 7 or pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return (width, height) if width and height else None
        if marker == 0xDA or length < 2:  # image data before any frame header
            return None
        pos += 2 + length
    return None


def photo_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes Telegram keeps of a photo: scaled into each box smaller than the photo, then
    the photo itself (scaled into the largest box if it is bigger still)."""
    longest = max(width, height)
    sizes = []
    for box in _PHOTO_BOXES:
        if longest <= box:
            sizes.append((width, height))
            break
        scale = box / longest
        sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
    return sizes


_FIRST_UPDATE_ID = 1000

class BotAPIStandIn:
    """A loopback HTTP stand-in for the Telegram Bot API.  See the module docstring."""

    def __init__(
        self,
        token: str = "123456789:TESTTOKEN-stand-in",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
        bot_id: int = 123456789,
        bot_username: str = "reminderbot_test_bot",
    ) -> None:
        self.token = token
        self._host = host
        self._port = port
        self._clock = clock or (lambda: datetime.now(UTC))
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.callback_answers: list[tuple[str, str | None, bool]] = []
        self.my_commands: list[dict[str, Any]] = []
        # setWebhook's parameters while a webhook is set (getUpdates then answers 409).
        self.webhook: JSONDict | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._changed = asyncio.Event()
        self._updates: list[JSONDict] = []
        self._next_update_id = _FIRST_UPDATE_ID
        self._next_message_ids: dict[int, int] = {}
        self._next_callback_id = 1
        self._by_key: dict[tuple[int, int], SentMessage] = {}
        self._user_messages: dict[tuple[int, int], JSONDict] = {}
        self._open_callbacks: dict[str, SentMessage | None] = {}  # None: an inline message
        self._files: dict[str, tuple[str, UploadedFile]] = {}  # file_id -> (kind, file)
        self._chats: dict[int, JSONDict] = {}
        self._blocked: set[int] = set()
        self._failures: list[_Failure] = []
        # Telegram's limits, when enforced (enforce_limits): sends in the last second, overall
        # and per chat (monotonic times), and how many were refused with 429.
        self._limits: tuple[int, float] | None = None
        self._recent_sends: collections.deque[float] = collections.deque()
        self._chat_last_send: dict[int, float] = {}
        self.refused_over_limit = 0
        self._network_faults: list[_NetworkFault] = []
        self._subscribers: list[Callable[[StandInEvent], None]] = []
        self._in_flight = 0
        self._last_activity = 0.0
        self._poll_generation = 0
        self._waiting_polls = 0  # getUpdates calls waiting for an update right now
        self._poll_deadlines: dict[int, float] = {}  # waiting poll's generation -> its timeout
        self._held_chats: dict[int, asyncio.Event] = {}  # chat -> set when released
        self._holding: list[int] = []  # chat ids of the calls being held now
        self._hold_counts: dict[int, int] = {}  # chat -> how many more calls to hold
        self._allowed_updates: frozenset[str] | None = None
        self._methods: dict[str, Callable[[JSONDict], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "close": self._true,
            "logout": self._true,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving; afterwards :attr:`port` and :attr:`base_url` are valid."""
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        # Room for the largest upload plus the form fields around it.
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=2.0, handler_cancellation=True
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._stopping = False
        self._port = int(runner.addresses[0][1])
        self._last_activity = asyncio.get_running_loop().time()

    async def stop(self) -> None:
        """Stop serving; long polls in progress return an empty result first."""
        if self._runner is None:
            return
        self._stopping = True
        for held in self._held_chats.values():
            held.set()  # held calls are answered before the server goes
        self._notify()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotAPIStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port (the bound one once started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """URL for ``Bot(base_url=...)``; PTB appends the token itself."""
        return f"http://{self._host}:{self._require_port()}/bot"

    @property
    def base_file_url(self) -> str:
        """URL for ``Bot(base_file_url=...)`` (file downloads are not served)."""
        return f"http://{self._host}:{self._require_port()}/file/bot"

    def _require_port(self) -> int:
        if self._port == 0:
            raise RuntimeError("start() the stand-in before asking for its URL")
        return self._port

    # ------------------------------------------------------------------ acting as users

    def private_chat(self, user: FakeUser) -> FakeChat:
        """The private chat between ``user`` and the bot."""
        self._chats[user.id] = {"id": user.id, "type": "private", "first_name": user.first_name}
        return FakeChat(id=user.id, type="private")

    async def send_message(
        self, user: FakeUser, text: str, *, chat: FakeChat | None = None
    ) -> dict[str, Any]:
        """``user`` writes ``text`` (in their private chat unless ``chat`` is given)."""
        content: JSONDict = {"text": text}
        command = _COMMAND.match(text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _u16(command.group())}
            ]
        return self._user_message(user, chat, content)

    async def send_location(
        self, user: FakeUser, latitude: float, longitude: float, chat: FakeChat | None = None
    ) -> JSONDict:
        """``user`` shares a location (in their private chat unless ``chat`` is given), as the
        "share my location" button of a reply keyboard does; the bot gets a message update
        whose ``location`` has these coordinates and no text.

        Raises :class:`ValueError` for coordinates no Telegram client can send.
        """
        if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
            raise ValueError(f"no such place: latitude {latitude}, longitude {longitude}")
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._user_message(user, chat, {"location": location})

    def _user_message(self, user: FakeUser, chat: FakeChat | None, content: JSONDict) -> JSONDict:
        """Record and deliver a message from ``user`` with ``content`` (text, location, ...)."""
        chat = chat or self.private_chat(user)
        if chat.type != "private":
            self._chats[chat.id] = {
                "id": chat.id,
                "type": chat.type,
                "title": chat.title or "Test group",
            }
        message: JSONDict = {
            "message_id": self._new_message_id(chat.id),
            "from": self._user_json(user),
            "chat": self._chat_json(chat.id),
            "date": self._timestamp(),
            **content,
        }
        self._user_messages[(chat.id, message["message_id"])] = message
        self._enqueue({"message": message})
        return message

    async def edit_message(
        self, user: FakeUser, message: dict[str, Any], new_text: str
    ) -> dict[str, Any]:
        """``user`` edits a message they sent earlier; the bot gets an ``edited_message``."""
        key = (int(message["chat"]["id"]), int(message["message_id"]))
        if key not in self._user_messages:
            raise LookupError(f"no user message {key[1]} in chat {key[0]}")
        edited: JSONDict = {
            **self._user_messages[key],
            "from": self._user_json(user),
            "text": new_text,
            "edit_date": self._timestamp(),
        }
        edited.pop("entities", None)
        command = _COMMAND.match(new_text)
        if command:
            edited["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _u16(command.group())}
            ]
        self._user_messages[key] = edited
        self._enqueue({"edited_message": edited})
        return edited

    async def press_button(self, user: FakeUser, message: SentMessage, button: str) -> str:
        """``user`` presses the inline button whose text or callback data is ``button``.

        Returns the callback query id.  Raises :class:`LookupError` if there is no such
        callback button on the message (as it currently is).
        """
        rows = (message.reply_markup or {}).get("inline_keyboard") or []
        for candidate in (b for row in rows for b in row if isinstance(b, dict)):
            if button in (candidate.get("text"), candidate.get("callback_data")):
                data = candidate.get("callback_data")
                if data is None:
                    raise LookupError(f"button {button!r} sends no callback data")
                return await self.send_callback_data(user, message, str(data))
        raise LookupError(
            f"message {message.message_id} in chat {message.chat_id} has no button {button!r}; "
            f"it has {message.button_texts()!r}"
        )

    async def send_callback_data(self, user: FakeUser, message: SentMessage, data: str) -> str:
        """``user`` sends a callback query with arbitrary ``data`` from ``message``."""
        if message.deleted:
            raise LookupError(f"message {message.message_id} was deleted")
        query_id = str(self._next_callback_id)
        self._next_callback_id += 1
        self._open_callbacks[query_id] = message
        self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user_json(user),
                    "message": self._message_json(message),
                    "chat_instance": f"{abs(message.chat_id) * 7 + 1000003}",
                    "data": data,
                }
            }
        )
        return query_id

    async def send_inline_callback(
        self, user: FakeUser, data: str, *, inline_message_id: str = "AAAAAInlineMsg01"
    ) -> str:
        """``user`` presses a button with ``data`` on a message sent in inline mode: the callback
        query has an ``inline_message_id`` and no ``message``.  Returns the query id."""
        query_id = str(self._next_callback_id)
        self._next_callback_id += 1
        self._open_callbacks[query_id] = None
        self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user_json(user),
                    "inline_message_id": inline_message_id,
                    "chat_instance": f"{user.id * 7 + 1000003}",
                    "data": data,
                }
            }
        )
        return query_id

    # ------------------------------------------------------------------ observing

    @property
    def pending_updates(self) -> int:
        """Updates enqueued but not yet confirmed by the bot."""
        return len(self._updates)

    @property
    def update_ids(self) -> range:
        """The ids of every update created so far, in order."""
        return range(_FIRST_UPDATE_ID, self._next_update_id)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id`` (including ones deleted since), in order."""
        return [m for m in self.sent if m.chat_id == chat_id]

    async def wait_for_messages(
        self, chat_id: int, count: int, *, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Wait until at least ``count`` messages were sent to ``chat_id``; return them all."""
        if await self._wait(lambda: len(self.messages_to(chat_id)) >= count, timeout):
            return self.messages_to(chat_id)
        got = self.messages_to(chat_id)
        listing = (
            "\n".join(
                f"  - [{m.chat_id}#{m.message_id}] {m.plain_text[:200]!r}" for m in self.sent[-20:]
            )
            or "  (nothing)"
        )
        raise TimeoutError(
            f"expected {count} message(s) to chat {chat_id} within {timeout}s, got {len(got)}; "
            f"{len(self.sent)} sent in total, the last ones:\n{listing}"
        )

    async def wait_for_callback_answer(
        self, callback_query_id: str, *, timeout: float = 10.0
    ) -> tuple[str, str | None, bool]:
        """Wait until the bot answered the callback query; return ``(id, text, show_alert)``."""

        def find() -> tuple[str, str | None, bool] | None:
            return next((a for a in self.callback_answers if a[0] == callback_query_id), None)

        if await self._wait(lambda: find() is not None, timeout):
            answer = find()
            assert answer is not None
            return answer
        raise TimeoutError(f"callback query {callback_query_id} was not answered in {timeout}s")

    async def wait_until_idle(self, *, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Return once all updates were confirmed and no API call other than ``getUpdates``
        arrived for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = loop.time()
            busy = self._in_flight > 0 or bool(self._updates)
            if not busy and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(
                    f"not idle after {timeout}s: {len(self._updates)} unconfirmed update(s), "
                    f"{self._in_flight} call(s) in flight"
                )
            wait = deadline - now if busy else quiet - (now - self._last_activity)
            changed = self._changed  # wake on the next state change, or when the wait is up
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(wait, deadline - now)):
                    await changed.wait()

    async def wait_for_poll(self, *, timeout: float = 10.0, margin: float | None = None) -> bool:
        """Wait until a ``getUpdates`` long poll that began after this call is waiting for
        updates; ``False`` if none did in time.  With ``margin``, a poll already waiting that
        has at least ``margin`` seconds left before its timeout will do (no wait for a new one).

        Stopping the bot then cancels a poll that is waiting, not one whose answer is on its
        way: PTB's ``Updater.stop`` can lose its one polling connection in that case, and its
        last ``getUpdates`` fails with a pool timeout.
        """
        generation = self._poll_generation
        loop = asyncio.get_running_loop()

        def waiting() -> bool:
            if margin is not None and any(
                deadline - loop.time() >= margin for deadline in self._poll_deadlines.values()
            ):
                return True
            return self._poll_generation != generation and self._waiting_polls > 0

        return await self._wait(waiting, timeout)

    def subscribe(self, callback: Callable[[StandInEvent], None]) -> None:
        """Call ``callback`` synchronously for every :class:`StandInEvent`."""
        self._subscribers.append(callback)

    # ------------------------------------------------------------------ slow chats, raw updates

    def hold(self, chat_id: int, *, calls: int | None = None) -> None:
        """Hold every call addressed to ``chat_id`` (sends, edits, ...) unanswered and not yet
        carried out, as a slow connection to that one user would, until :meth:`release`.
        With ``calls``, only the next that many are held; later ones go through."""
        self._held_chats.setdefault(chat_id, asyncio.Event())
        if calls is not None:
            self._hold_counts[chat_id] = calls

    def release(self, chat_id: int) -> None:
        """Carry out and answer the calls held for ``chat_id``; later ones go through."""
        held = self._held_chats.pop(chat_id, None)
        self._hold_counts.pop(chat_id, None)
        if held is not None:
            held.set()

    def held_calls(self, chat_id: int) -> int:
        """How many calls to ``chat_id`` are being held right now."""
        return self._holding.count(chat_id)

    async def _wait_while_held(self, method: str, params: JSONDict) -> None:
        chat_id = params.get("chat_id")
        held = self._held_chats.get(chat_id) if isinstance(chat_id, int) else None
        if held is None or method not in _CHAT_METHODS:
            return
        assert isinstance(chat_id, int)
        left = self._hold_counts.get(chat_id)
        if left is not None:
            if left <= 0:
                return
            self._hold_counts[chat_id] = left - 1
        self._holding.append(chat_id)
        self._notify()
        try:
            await held.wait()
        finally:
            self._holding.remove(chat_id)

    def deliver_update(self, update: JSONDict) -> int:
        """Deliver any raw update dict (its ``update_id`` is assigned); return the update id.

        For updates the acting-as-a-user methods do not make (forged or unusual ones)."""
        update_id = self._next_update_id
        self._enqueue({key: value for key, value in update.items() if key != "update_id"})
        return update_id

    def conflict_polls(self, times: int = 1) -> None:
        """Answer the next ``times`` ``getUpdates`` calls with 409 Conflict, as Telegram does
        while another bot instance polls with the same token."""
        self.fail_next(
            "getUpdates",
            status=409,
            description="Conflict: terminated by other getUpdates request; make sure that "
            "only one bot instance is running",
            times=times,
        )

    # ------------------------------------------------------------------ Telegram's errors

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (only those for ``chat_id`` if given)
        with this error.  A 429 without ``retry_after`` gets ``retry_after=1``, as on Telegram."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(status, "Internal Server Error")
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
        error = _ApiError(status, description, retry_after)
        self._failures.append(_Failure(method.lower(), error, chat_id, times))

    def enforce_limits(self, per_second: int = 30, chat_interval: float = 1.0) -> None:
        """Answer sends over Telegram's limits with 429 ``retry_after=1``, as Telegram does:
        more than ``per_second`` in any one second overall, or two to one chat less than
        ``chat_interval`` apart. Refusals are counted in :attr:`refused_over_limit`."""
        self._limits = (per_second, chat_interval)

    def _over_limit(self, method: str, chat_id: object) -> bool:
        """Whether this send breaks an enforced limit (counted as sent when it does not)."""
        if self._limits is None or method not in _SEND_METHODS:
            return False
        per_second, chat_interval = self._limits
        now = time.monotonic()
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        last = self._chat_last_send.get(chat_id) if isinstance(chat_id, int) else None
        if len(self._recent_sends) >= per_second or (
            last is not None and now - last < chat_interval
        ):
            self.refused_over_limit += 1
            return True
        self._recent_sends.append(now)
        if isinstance(chat_id, int):
            self._chat_last_send[chat_id] = now
        return False

    def block(self, chat_id: int) -> None:
        """From now on every send/edit to ``chat_id`` answers 403 (the user blocked the bot)."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(chat_id)

    # ------------------------------------------------------------------ network faults

    def answer_late(
        self, method: str, *, delay: float, chat_id: int | None = None, times: int = 1
    ) -> None:
        """Carry out the next ``times`` calls of ``method`` (only those for ``chat_id`` if
        given), then hold their answers for ``delay`` seconds, as a slow Telegram does: a
        client whose read timeout is shorter gives up on a call that did happen."""
        self._network_faults.append(_NetworkFault(method.lower(), chat_id, times, delay))

    def drop_after(self, method: str, *, chat_id: int | None = None, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` (only those for ``chat_id`` if
        given), then close the connection without an answer (the client sees the server
        disconnect: it cannot tell whether the call happened)."""
        self._network_faults.append(_NetworkFault(method.lower(), chat_id, times, None))

    async def refuse_connections(self) -> None:
        """Drop the connection before any request: stop listening, so that connecting is
        refused (as when Telegram cannot be reached), and close the open connections once
        their current answer is written, so that every later call must connect anew.

        Nothing reaches the stand-in until :meth:`accept_connections`.
        """
        runner = self._runner
        if runner is None or runner.server is None:
            raise RuntimeError("the stand-in is not running")
        for site in list(runner.sites):
            await site.stop()
        for connection in list(runner.server.connections):
            # aiohttp has no public "idle": a connection with no request in progress is
            # closed at once (close() alone would leave it open), a busy one after its answer.
            if getattr(connection, "_current_request", None) is None and connection.transport:
                connection.transport.close()
            else:
                connection.close()
        await asyncio.sleep(0.01)  # the client sees the idle connections closed before its call

    async def accept_connections(self) -> None:
        """Listen again on the same port after :meth:`refuse_connections`."""
        runner = self._runner
        if runner is None:
            raise RuntimeError("the stand-in is not running")
        if not runner.sites:
            await web.TCPSite(runner, self._host, self._port).start()

    def _network_fault(self, method: str, params: JSONDict) -> _NetworkFault | None:
        """The late answer or dropped connection due for this call, if any (used up)."""
        chat_id = params.get("chat_id")
        for fault in self._network_faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._network_faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        token, _, method = path.removeprefix("/bot").partition("/")
        params: JSONDict = {}
        body: JSONDict
        is_poll = method.lower() == "getupdates"
        if not is_poll:
            self._in_flight += 1
            self._touch()
        try:
            if not path.startswith("/bot") or "/" in method:
                raise _ApiError(404, "Not Found")
            if token != self.token:
                raise _ApiError(401, "Unauthorized")
            params = await self._read_params(request)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise _ApiError(404, "Not Found: method not found")
            self._check_injected(method.lower(), params)
            await self._wait_while_held(method.lower(), params)
            status, body = 200, {"ok": True, "result": await handler(params)}
        except _ApiError as error:
            status, body = error.status, error.envelope()
        except Exception:
            _log.exception("stand-in failed handling %s", method)
            status, body = (
                500,
                {"ok": False, "error_code": 500, "description": "Internal Server Error"},
            )
        finally:
            if not is_poll:
                self._in_flight -= 1
                self._touch()
        if is_poll and (request.transport is None or request.transport.is_closing()):
            # A long poll the bot gave up on (e.g. superseded while stopping): nobody reads the
            # answer, so it is not recorded.
            self._notify()
            return web.Response(status=status)
        self.calls.append(ApiCall(method, params, status, host=request.host))
        _log.debug("stand-in answered %s with %d", method, status)
        self._notify()
        fault = self._network_fault(method.lower(), params) if status == 200 else None
        if fault is not None and fault.delay is None and request.transport is not None:
            request.transport.close()  # carried out, but the answer never leaves
        elif fault is not None and fault.delay is not None:
            self._in_flight += 1  # still busy until the late answer is written (or given up)
            try:
                await asyncio.sleep(fault.delay)
            finally:
                self._in_flight -= 1
                self._touch()
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> JSONDict:
        raw: JSONDict = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _ApiError(400, "Bad Request: can't parse JSON object") from exc
                if not isinstance(body, dict):
                    raise _ApiError(400, "Bad Request: JSON object expected")
                raw.update(body)
            else:
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    raise _ApiError(413, "Request Entity Too Large") from None
                for key, value in form.items():
                    raw[key] = value if isinstance(value, str) else await _uploaded(value)
        params: JSONDict = {}
        for key, value in raw.items():
            if key in _JSON_PARAMS and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    if key == "reply_markup":
                        raise _ApiError(
                            400, "Bad Request: can't parse reply keyboard markup JSON object"
                        ) from None
            params[key] = value
        return params

    def _check_injected(self, method: str, params: JSONDict) -> None:
        chat_id = params.get("chat_id")
        for failure in self._failures:
            if failure.method == method and failure.chat_id in (None, chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                raise failure.error
        if self._over_limit(method, chat_id):
            raise _ApiError(429, "Too Many Requests: retry after 1", 1)
        if method in _CHAT_METHODS and isinstance(chat_id, int) and chat_id in self._blocked:
            if chat_id > 0:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            raise _ApiError(403, "Forbidden: bot was kicked from the group chat")

    # ------------------------------------------------------------------ methods

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                 "active; use deleteWebhook to delete the webhook first")
        offset = params.get("offset")
        limit = min(max(_int(params.get("limit", 100), "limit"), 1), 100)
        timeout = max(_number(params.get("timeout", 0), "timeout"), 0.0)
        if isinstance(offset, int) and offset < 0:
            del self._updates[:offset]
        elif offset is not None:
            offset = _int(offset, "offset")
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(map(str, allowed)) or None
            self._updates = [u for u in self._updates if self._wanted(u)]
        self._notify()
        self._poll_generation += 1
        generation = self._poll_generation
        if not self._updates and timeout > 0 and not self._stopping:
            self._waiting_polls += 1
            self._poll_deadlines[generation] = asyncio.get_running_loop().time() + timeout
            self._notify()
            try:
                await self._wait(
                    lambda: (
                        bool(self._updates)
                        or self._stopping
                        or self._poll_generation != generation
                    ),
                    timeout,
                )
            finally:
                self._waiting_polls -= 1
                self._poll_deadlines.pop(generation, None)
            if self._poll_generation != generation and not self._stopping:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make "
                    "sure that only one bot instance is running",
                )
        return self._updates[:limit]

    async def _delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        self.webhook = None
        return True

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                 "webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        self.webhook = dict(params)
        return True

    def take_updates(self) -> list[JSONDict]:
        """The updates waiting for the bot, handed over and forgotten: what Telegram posts to
        a webhook (a test posts them to the bot's web app, as Telegram would)."""
        updates, self._updates = self._updates, []
        self._notify()
        return updates

    @staticmethod
    def _scope_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME.match(
                str(command.get("command", "")).removeprefix("/")
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._scope_key(params)] = commands
        self.my_commands = list(commands)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[dict[str, Any]]:
        return self._commands.get(self._scope_key(params), [])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self._commands.pop(self._scope_key(params), None)
        self.my_commands = []
        return True

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        markup = self._reply_markup(params)
        plain, entities = self._render(params)
        message = SentMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            text=str(params["text"]),
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            date=self._clock(),
            plain_text=plain,
            entities=entities,
        )
        return self._record_sent(message)

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        markup = self._reply_markup(params)
        upload = self._file_param(params, "photo")
        size = image_size(upload.data)
        if size is None:
            raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if sum(size) > 10_000 or max(size) > 20 * min(size):
            raise _ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        caption, plain, entities = self._caption(params)
        message = SentMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            text=caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            date=self._clock(),
            plain_text=plain,
            entities=entities,
            photo=upload.data,
            filename=upload.filename,
        )
        return self._record_sent(message)

    async def _send_document(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        markup = self._reply_markup(params)
        upload = self._file_param(params, "document")
        caption, plain, entities = self._caption(params)
        guessed = mimetypes.guess_type(upload.filename or "", strict=False)[0]
        message = SentMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            text=caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            date=self._clock(),
            plain_text=plain,
            entities=entities,
            document=upload.data,
            filename=upload.filename,
            mime_type=guessed or upload.content_type or "application/octet-stream",
        )
        return self._record_sent(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._message_to_edit(params)
        if message.photo is not None or message.document is not None:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        markup = self._reply_markup(params)
        plain, entities = self._render(params)
        if (plain, entities, _inline_keyboard(markup)) == (
            message.plain_text,
            message.entities,
            _inline_keyboard(message.reply_markup),
        ):
            raise _ApiError(400, _NOT_MODIFIED)
        message.text, message.parse_mode = str(params["text"]), params.get("parse_mode")
        message.plain_text, message.entities, message.reply_markup = plain, entities, markup
        return self._edited(message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._message_to_edit(params)
        markup = self._reply_markup(params)
        if _inline_keyboard(markup) == _inline_keyboard(message.reply_markup):
            raise _ApiError(400, _NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    async def _delete_message(self, params: JSONDict) -> bool:
        key = (self._chat_id(params), _int(params.get("message_id"), "message_id"))
        message = self._by_key.pop(key, None)
        if message is not None:
            message.deleted = True
            self._emit(StandInEvent("deleted", message, None))
        elif self._user_messages.pop(key, None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        message = self._open_callbacks.pop(query_id)
        text = params.get("text")
        text = str(text) if text else None
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            self._open_callbacks[query_id] = message
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        show_alert = params.get("show_alert") in (True, "true", "True")
        self.callback_answers.append((query_id, text, show_alert))
        self._emit(StandInEvent("callback_answer", message, text))
        return True

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._chat_id(params)
        if not params.get("action"):
            raise _ApiError(400, "Bad Request: action is empty")
        return True

    # ------------------------------------------------------------------ helpers

    def _chat_id(self, params: JSONDict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _render(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        """Plain text and entities of a message text, validated like Telegram does."""
        text = params.get("text")
        if not isinstance(text, str):
            raise _ApiError(400, "Bad Request: message text is empty")
        plain, entities = _parse_markup(text, params.get("parse_mode"), params.get("entities"))
        if not plain:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        return plain, entities

    def _caption(self, params: JSONDict) -> tuple[str, str, list[JSONDict]]:
        """The raw caption, its plain text and entities; all empty when there is none."""
        caption = params.get("caption")
        if caption is None or caption == "":
            return "", "", []
        caption = str(caption)
        plain, entities = _parse_markup(
            caption, params.get("parse_mode"), params.get("caption_entities")
        )
        if len(plain) > MAX_CAPTION_LENGTH:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return caption, plain, entities

    def _file_param(self, params: JSONDict, kind: str) -> UploadedFile:
        """The file sent as ``kind`` ("photo" or "document"): an upload, possibly through an
        ``attach://`` reference, or the file_id of a file sent before."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if value is None or value == "":
            raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
        if isinstance(value, str):
            if value.startswith(("http://", "https://")):
                raise _ApiError(400, "Bad Request: failed to get HTTP URL content")  # offline
            stored = self._files.get(value)
            if stored is None:
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if stored[0] != kind:
                raise _ApiError(
                    400, f"Bad Request: can't use file of type {stored[0].title()} as "
                    f"{kind.title()}"
                )
            return stored[1]
        if not isinstance(value, UploadedFile):
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not value.data:
            raise _ApiError(400, "Bad Request: file must be non-empty")
        return value

    def _record_sent(self, message: SentMessage) -> JSONDict:
        """Keep a message the bot sent, tell the subscribers, and answer its JSON."""
        self.sent.append(message)
        self._by_key[(message.chat_id, message.message_id)] = message
        result = self._message_json(message)
        upload = UploadedFile(message.filename, message.mime_type, message.photo or b"")
        for size in result.get("photo", []):
            self._files[size["file_id"]] = ("photo", upload)
        if "document" in result:
            upload = UploadedFile(message.filename, message.mime_type, message.document or b"")
            self._files[result["document"]["file_id"]] = ("document", upload)
        self._emit(StandInEvent("sent", message, None))
        return result

    def _reply_markup(self, params: JSONDict) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: "
                "InlineKeyboardButton must be an Object",
            )
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(
                    400, "Bad Request: can't parse inline keyboard button: Text must be non-empty"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if len(button) == 1:
                raise _ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
        return markup

    def _message_to_edit(self, params: JSONDict) -> SentMessage:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: message to edit not found")
        key = (self._chat_id(params), _int(params.get("message_id"), "message_id"))
        message = self._by_key.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message

    def _edited(self, message: SentMessage) -> JSONDict:
        message.edits += 1
        message.edit_date = self._clock()
        self._emit(StandInEvent("edited", message, None))
        return self._message_json(message)

    def _message_json(self, message: SentMessage) -> JSONDict:
        result: JSONDict = {
            "message_id": message.message_id,
            "from": self._bot_json(),
            "chat": self._chat_json(message.chat_id),
            "date": int(message.date.timestamp()),
        }
        if message.photo is None and message.document is None:
            result["text"] = message.plain_text
            if message.entities:
                result["entities"] = message.entities
        else:
            if message.photo is not None:
                result["photo"] = _photo_json(message.photo)
            if message.document is not None:
                result["document"] = _document_json(message)
            if message.plain_text:
                result["caption"] = message.plain_text
            if message.entities:
                result["caption_entities"] = message.entities
        if message.edit_date is not None:
            result["edit_date"] = int(message.edit_date.timestamp())
        keyboard = _inline_keyboard(message.reply_markup)
        if keyboard is not None:
            result["reply_markup"] = {"inline_keyboard": keyboard}
        return result

    def _bot_json(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Reminder Bot",
            "username": self.bot_username,
        }

    @staticmethod
    def _user_json(user: FakeUser) -> JSONDict:
        result: JSONDict = {"id": user.id, "is_bot": False, "first_name": user.first_name}
        if user.language_code is not None:
            result["language_code"] = user.language_code
        return result

    def _chat_json(self, chat_id: int) -> JSONDict:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "group", "title": "Test group"}

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_ids.get(chat_id, 1)
        self._next_message_ids[chat_id] = message_id + 1
        return message_id

    def _timestamp(self) -> int:
        return int(self._clock().timestamp())

    def _wanted(self, update: JSONDict) -> bool:
        """Whether the bot's ``allowed_updates`` (as last sent) lets this update through."""
        return self._allowed_updates is None or not self._allowed_updates.isdisjoint(update)

    def _enqueue(self, update: JSONDict) -> None:
        if not self._wanted(update):
            # Telegram does not even create updates the bot did not ask for.
            _log.warning(
                "stand-in dropped a %s update: not in the bot's allowed_updates", next(iter(update))
            )
            return
        self._updates.append({"update_id": self._next_update_id, **update})
        self._next_update_id += 1
        self._touch()  # the bot is busy with it after it is confirmed, out of the stand-in's view
        self._notify()

    def _emit(self, event: StandInEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                _log.exception("stand-in subscriber failed on a %r event", event.kind)

    def _touch(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()

    def _notify(self) -> None:
        """Wake everyone waiting in :meth:`_wait`."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds (re-checked on every state change) or time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                return predicate()
        return True


def _parse_markup(text: str, parse_mode: Any, given: Any) -> tuple[str, list[JSONDict]]:
    """Plain text and entities of a text or caption: explicit entities, or parsed markup."""
    if isinstance(given, list):
        plain, entities = text, [e for e in given if isinstance(e, dict)]
    elif parse_mode is None or parse_mode == "":
        plain, entities = text, []
    elif str(parse_mode).lower() == "html":
        plain, entities = parse_html(text)
    elif str(parse_mode).lower() in ("markdown", "markdownv2"):
        plain, entities = text, []  # accepted without validation
    else:
        raise _ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    return _strip(plain, entities)


def _digest(data: bytes) -> str:
    # Same content, same file_unique_id, as on Telegram.
    return hashlib.sha256(data).hexdigest()


def _photo_json(data: bytes) -> list[JSONDict]:
    """The PhotoSize list Telegram answers for a photo (validated before it is recorded)."""
    size = image_size(data)
    assert size is not None
    digest = _digest(data)
    sizes: list[JSONDict] = []
    for width, height in photo_sizes(*size):
        sizes.append(
            {
                "file_id": f"photo-{digest[:32]}-{width}x{height}",
                "file_unique_id": f"{digest[:16]}{width}x{height}",
                "width": width,
                "height": height,
            }
        )
    if (sizes[-1]["width"], sizes[-1]["height"]) == size:
        sizes[-1]["file_size"] = len(data)  # the one size kept as uploaded
    return sizes


def _document_json(message: SentMessage) -> JSONDict:
    """The Document object Telegram answers for an uploaded file."""
    data = message.document or b""
    digest = _digest(data)
    result: JSONDict = {
        "file_id": f"document-{digest[:32]}",
        "file_unique_id": digest[:16],
        "file_size": len(data),
    }
    if message.filename:
        result["file_name"] = message.filename
    if message.mime_type:
        result["mime_type"] = message.mime_type
    return result


async def _uploaded(value: web.FileField | bytes | bytearray) -> UploadedFile:
    """A multipart file part (or a binary field without a filename) as an UploadedFile."""
    if isinstance(value, (bytes, bytearray)):
        return UploadedFile(None, None, bytes(value))
    try:
        data = await asyncio.to_thread(value.file.read)  # large parts are spooled to disk
    finally:
        value.file.close()
    return UploadedFile(value.filename or None, value.content_type or None, data)


def _int(value: Any, name: str) -> int:
    """An integer parameter, or Telegram's 400 for a missing/invalid one."""
    if isinstance(value, bool) or value is None:
        raise _ApiError(400, f"Bad Request: {name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Bad Request: invalid {name} specified") from None


def _number(value: Any, name: str) -> float:
    """A numeric parameter, or Telegram's 400 for an invalid one."""
    if isinstance(value, bool):
        raise _ApiError(400, f"Bad Request: invalid {name} specified")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Bad Request: invalid {name} specified") from None
