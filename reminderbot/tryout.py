"""``reminderbot try``: the real bot in a terminal, against the loopback Bot API stand-in.

The terminal plays one user in a private chat. The Application is the one ``run`` builds (same
handlers, dispatcher, rate limiter, catalog, migrations); only its Bot API is the in-package
stand-in on 127.0.0.1 and its clock is a ``ManualClock`` that ``/time`` moves forward.
``/location LAT LON`` shares a location as the user. Photos and files the bot sends are saved
to a folder (temporary, or beside the ``--keep-db`` database) and shown by their path.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import TypeHandler

from reminderbot.app import DISPATCHER_KEY, BotApplication, build_application, running
from reminderbot.clock import ManualClock
from reminderbot.config import Settings
from reminderbot.dispatch import Dispatcher
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, SentMessage, StandInEvent

TRY_TOKEN = "100000001:TRY-offline-stand-in-token-not-real"
TRY_USER_ID = 100_000_042

_STEP = re.compile(r"^\+(\d{1,4})([mhd])$")
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_COORDINATES = re.compile(r"^\s*([^\s,]+)\s*(?:,\s*|\s+)([^\s,]+)\s*$")
_LOCATION_HINT = "type /location LAT LON"
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_ANSI = {"bold": "\033[1m", "italic": "\033[3m", "underline": "\033[4m", "code": "\033[36m"}
_RESET = "\033[0m"
_LAST_GROUP = 1_000  # after every handler group of the bot
_SETTLE_LIMIT = 30.0  # seconds; a bot that takes longer gets the prompt back anyway
_DIM = "\033[2m"
_QUIT_WAIT = 3.0  # seconds; at most one long poll (1 s here) plus slack


@dataclass(frozen=True)
class TryOptions:
    """What the ``try`` command line chose."""

    timezone: str | None = None
    lang: str | None = None
    keep_db: Path | None = None
    start_at: datetime | None = None


def parse_time_command(argument: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """``+3h``/``+30m``/``+1d`` from now, or ``09:30`` for the next such local time."""
    argument = argument.strip()
    if step := _STEP.match(argument):
        return now + timedelta(**{_UNITS[step.group(2)]: int(step.group(1))})
    if at := _CLOCK_TIME.match(argument):
        hour, minute = int(at.group(1)), int(at.group(2))
        if hour > 23 or minute > 59:
            return None
        local = now.astimezone(zone)
        target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if target <= local:
            target = (local + timedelta(days=1)).replace(
                hour=hour, minute=minute, second=0, microsecond=0
            )
        return target
    return None


def parse_location_command(argument: str) -> tuple[float, float] | None:
    """``52.52 13.40`` (or ``52.52, 13.40``) as (latitude, longitude); None if no such place."""
    match = _COORDINATES.match(argument)
    if match is None:
        return None
    try:
        latitude, longitude = float(match.group(1)), float(match.group(2))
    except ValueError:
        return None
    # NaN and infinities fail these comparisons too.
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    return latitude, longitude


def keyboard_line(message: SentMessage) -> str | None:
    """A reply keyboard as one line, saying how to press a "share location" button here."""
    labels = []
    for button in (b for row in message.reply_keyboard for b in row):
        label = str(button.get("text", ""))
        labels.append(f"{label} — {_LOCATION_HINT}" if button.get("request_location") else label)
    return f"[keyboard: {' | '.join(labels)}]" if labels else None


def free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name-2``, ``name-3``... if taken (a kept folder outlives a run)."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    number = 2
    while path.exists():
        path = folder / f"{stem}-{number}{suffix}"
        number += 1
    return path


def styled(message: SentMessage, color: bool) -> str:
    """What the user reads: the parsed text, with bold/italic as terminal styles on a TTY."""
    if not color or not message.entities:
        return message.plain_text
    # Telegram's entity offsets count UTF-16 code units.
    units = message.plain_text.encode("utf-16-le")
    marks: list[tuple[int, int, str]] = []
    for entity in message.entities:
        style = _ANSI.get(str(entity.get("type")))
        if style:
            start, length = int(entity["offset"]), int(entity["length"])
            marks += [(start, 1, style), (start + length, 0, _RESET)]
    out, position = [], 0
    for offset, _, code in sorted(marks):
        out.append(units[position * 2 : offset * 2].decode("utf-16-le"))
        out.append(code)
        position = offset
    out.append(units[position * 2 :].decode("utf-16-le"))
    return "".join(out) + _RESET


class TerminalChat:
    """Prints what the bot sends, reads what the user types, moves the clock on ``/time``."""

    def __init__(
        self,
        api: BotAPIStandIn,
        application: BotApplication,
        clock: ManualClock,
        zone: ZoneInfo,
        user: FakeUser,
        out: TextIO,
        color: bool,
        files: Path,
    ) -> None:
        self.api, self.application, self.clock = api, application, clock
        self.zone, self.user, self.out, self.color = zone, user, out, color
        self.files = files  # where photos and documents from the bot are saved
        self.shown: dict[int, str] = {}  # message id -> the text last printed
        self.saved: dict[int, str] = {}  # message id -> its "[photo: ...]" / "[file: ...]" line
        self.sent_updates = 0
        self.done_updates = 0
        self.progress = asyncio.Event()
        api.subscribe(self.on_event)
        # Runs after the conversation handlers have finished with an update (the last group),
        # so the prompt comes back only once the bot's answer is out, however long it waited.
        application.add_handler(TypeHandler(Update, self.on_update_done), group=_LAST_GROUP)

    async def on_update_done(self, _update: Update, _context: object) -> None:
        """Count an update the bot has finished with."""
        self.done_updates += 1
        self.progress.set()

    async def settle(self) -> None:
        """Wait until the bot has handled everything the user sent, and its sends are out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SETTLE_LIMIT
        while self.done_updates < self.sent_updates and loop.time() < deadline:
            self.progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await self.progress.wait()
        await self.api.wait_until_idle(quiet=0.1, timeout=_SETTLE_LIMIT)

    @property
    def dispatcher(self) -> Dispatcher:
        dispatcher = self.application.bot_data[DISPATCHER_KEY]
        assert isinstance(dispatcher, Dispatcher)
        return dispatcher

    def when(self) -> str:
        return self.clock.now().astimezone(self.zone).strftime("%a %d %b %H:%M")

    def dim(self, text: str) -> str:
        return f"{_DIM}{text}{_RESET}" if self.color else text

    def on_event(self, event: StandInEvent) -> None:
        """Print a message the bot sent or edited, or a pop-up it showed."""
        message = event.message
        if event.kind == "callback_answer":
            if event.text:
                self.print(self.dim(f"  (pop-up) {event.text}"))
            return
        if message is None or message.chat_id != self.user.id or event.kind == "deleted":
            return
        edited = " (edited)" if event.kind == "edited" else ""
        self.print(self.dim(f"── bot · {self.when()}{edited} ──"))
        media = self.media_line(message)
        plain = "\n".join(part for part in (media, message.plain_text) if part)
        if edited and self.shown.get(message.message_id) == plain:
            # Only the buttons changed: the first line is enough to say which message.
            self.print(plain.splitlines()[0] + " …" if plain else "…")
        else:
            for part in (media, styled(message, self.color)):
                if part:
                    self.print(part)
        self.shown[message.message_id] = plain
        labels = message.button_texts()
        if labels:
            self.print("   ".join(f"[{n}] {label}" for n, label in enumerate(labels, 1)))
        keyboard = keyboard_line(message)
        if keyboard:
            self.print(keyboard)
        self.print("")

    def media_line(self, message: SentMessage) -> str | None:
        """Save a photo or document from the bot (once) and say where it is; None for text."""
        if message.message_id in self.saved:
            return self.saved[message.message_id]
        if message.photo is not None:
            suffix = ".png" if message.photo.startswith(b"\x89PNG") else ".jpg"
            path = self.save(f"photo-{message.message_id}{suffix}", message.photo)
            line = f"[photo: {path}]"
        elif message.document is not None:
            name = Path(message.filename or "").name or "file"
            path = self.save(name, message.document)
            line = f"[file: {name} → {path}]"
        else:
            return None
        self.saved[message.message_id] = line
        return line

    def save(self, name: str, data: bytes) -> Path:
        """Write ``data`` to a new file named after ``name`` in the files folder."""
        # Synchronous on purpose: the line naming the file is printed right after, in order,
        # and these are small local files.
        self.files.mkdir(parents=True, exist_ok=True)
        path = free_path(self.files, name)
        path.write_bytes(data)
        return path.resolve()

    def print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def prompt(self) -> str:
        return f"{self.when()} {self.zone.key} > "

    async def handle(self, line: str) -> bool:
        """Act on one input line; False means quit."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if text == "/time" or text.startswith("/time "):
            await self.move_clock(text.removeprefix("/time").strip())
        elif text == "/location" or text.startswith("/location "):
            await self.share_location(text.removeprefix("/location"))
        elif text.isdigit():
            await self.press(int(text))
        else:
            self.sent_updates += 1
            await self.api.send_message(self.user, text)
        await self.settle()
        return True

    async def share_location(self, argument: str) -> None:
        """Share a location as the user, as Telegram's "share my location" button does."""
        place = parse_location_command(argument)
        if place is None:
            self.print(self.dim("  usage: /location LAT LON, e.g. /location 52.52 13.40"))
            return
        self.sent_updates += 1
        await self.api.send_location(self.user, *place)

    async def press(self, number: int) -> None:
        """Press button ``number`` on the newest message that has that many buttons."""
        for message in reversed(self.api.messages_to(self.user.id)):
            labels = message.button_texts()
            if not message.deleted and 1 <= number <= len(labels):
                self.sent_updates += 1
                await self.api.press_button(self.user, message, labels[number - 1])
                return
        self.print(self.dim(f"  (no message has a button [{number}])"))

    async def move_clock(self, argument: str) -> None:
        """Let time pass up to the target, sending everything due on the way, in order."""
        target = parse_time_command(argument, self.clock.now(), self.zone)
        if target is None:
            self.print(self.dim("  usage: /time +30m | +3h | +1d | 09:30"))
            return
        bot = self.application.bot
        while (due := await self.dispatcher.earliest_due()) is not None and due <= target:
            self.clock.set(max(due, self.clock.now()))
            report = await self.dispatcher.tick(bot)  # returns once every due reminder is sent
            await self.settle()
            if not report.claimed and due <= self.clock.now():
                break  # held by another process: let the time pass rather than spin
        self.clock.set(target)
        self.print(self.dim(f"  (it is now {self.when()})"))


def _reader(
    loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None], stream: TextIO
) -> None:
    # A daemon thread: a blocked read never keeps the process alive after /quit or Ctrl-C.
    for line in stream:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def try_session(settings: Settings, options: TryOptions, stdin: TextIO, out: TextIO) -> int:
    """Run the offline chat until /quit or end of input; return the exit status."""
    color = out.isatty()
    interactive = stdin.isatty()
    zone_name = options.timezone or settings.default_timezone
    zone = ZoneInfo(zone_name)
    start = options.start_at or datetime.now(zone)
    clock = ManualClock(start if start.tzinfo else start.replace(tzinfo=zone))
    with tempfile.TemporaryDirectory(prefix="reminderbot-try-") as scratch:
        if "database_url" in settings.model_fields_set:
            database_url = settings.database_url
        else:
            path = options.keep_db or Path(scratch) / "try.db"
            database_url = f"sqlite+aiosqlite:///{path.resolve()}"
        # Files the bot sends live as long as the database does: kept beside a kept one.
        if options.keep_db is not None:
            files = options.keep_db.resolve().with_name(options.keep_db.stem + "-files")
        else:
            files = Path(scratch) / "files"
        async with BotAPIStandIn(TRY_TOKEN, clock=clock.now) as api:
            settings = settings.model_copy(
                update={
                    "telegram_bot_token": api.token,
                    "telegram_api_base_url": api.base_url,
                    "database_url": database_url,
                    "default_timezone": zone_name,
                }
            )
            application = build_application(settings, clock=clock)
            user = FakeUser(id=TRY_USER_ID, first_name="You", language_code=options.lang or "en")
            chat = TerminalChat(api, application, clock, zone, user, out, color, files)
            chat.print(
                chat.dim(
                    f"reminderbot try: offline, Bot API stand-in on 127.0.0.1:{api.port}. "
                    "You are one user in a private chat.\nType /start to begin; a number presses "
                    "that button; /time +3h lets time pass; /location 52.52 13.40 shares a "
                    f"location; /quit ends.\nPhotos and files from the bot are saved in {files}"
                    + ("." if options.keep_db is not None else " (deleted when you quit).")
                )
            )
            async with running(application, poll_timeout=1):
                await api.wait_until_idle(quiet=0.1)
                queue: asyncio.Queue[str | None] = asyncio.Queue()
                threading.Thread(
                    target=_reader, args=(asyncio.get_running_loop(), queue, stdin), daemon=True
                ).start()
                while True:
                    out.write(chat.prompt())
                    out.flush()
                    line = await queue.get()
                    if line is None:
                        out.write("\n")
                        break
                    if not interactive:
                        out.write(line if line.endswith("\n") else line + "\n")
                    if not await chat.handle(line):
                        break
                # Stop while the bot is listening, not while a poll's answer is on its way.
                await api.wait_for_poll(timeout=_QUIT_WAIT)
    return 0


def run_try(settings: Settings, options: TryOptions) -> int:
    """Entry point of ``reminderbot try``."""
    try:
        return asyncio.run(try_session(settings, options, sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 0
