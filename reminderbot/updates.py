"""How updates are scheduled: many users at once, each user's own updates in order, floods cut.

PTB hands every update to :class:`PerChatUpdateProcessor` in a task of its own. Updates of one
chat wait for each other (a lock per chat, dropped once idle); updates of different chats run
side by side. A user who sends more than ``FLOOD_LIMIT`` updates in ``FLOOD_WINDOW_SECONDS`` is
answered once with a "one moment" (the update over the limit is marked, and
:func:`answer_flood` replies instead of handling it); their further updates are dropped unread
until the window has room again, so nothing they send is handled, or stored, twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from time import monotonic
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseUpdateProcessor, TypeHandler

from reminderbot import texts
from reminderbot.context import BotContext
from reminderbot.handlers.reply import reply
from reminderbot.logs import CURRENT_UPDATE_ID

log = logging.getLogger(__name__)

# A user may send this many updates in any FLOOD_WINDOW_SECONDS; the next one is a flood.
FLOOD_LIMIT = 10
FLOOD_WINDOW_SECONDS = 10.0
# Updates handled at once (PTB's bound); one chat's updates wait for each other within it.
MAX_CONCURRENT_UPDATES = 256
# The flood answer runs before every other handler (the update-id guard is group -2).
FLOOD_GROUP = -3
# Beyond this many users with recent updates, the ones whose window is empty are forgotten.
_MAX_WATCHED = 1024


class Verdict(StrEnum):
    """What to do with a user's update."""

    HANDLE = "handle"
    NOTICE = "notice"  # the first over the limit: answered with "one moment"
    DROP = "drop"  # later ones, until the window has room again


@dataclass
class FloodWatch:
    """Counts each user's updates in a sliding window (times from ``clock``, in seconds)."""

    clock: Callable[[], float]
    limit: int = FLOOD_LIMIT
    window: float = FLOOD_WINDOW_SECONDS
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _noticed: set[int] = field(default_factory=set)

    def admit(self, user_id: int) -> Verdict:
        """Count one update of ``user_id`` and say whether to handle it."""
        now = self.clock()
        if user_id not in self._seen:
            self._forget_quiet_users(now)
        times = self._seen.setdefault(user_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._noticed.discard(user_id)  # a new flood gets a new "one moment"
            return Verdict.HANDLE
        if user_id in self._noticed:
            return Verdict.DROP
        self._noticed.add(user_id)
        return Verdict.NOTICE

    def _forget_quiet_users(self, now: float) -> None:
        if len(self._seen) < _MAX_WATCHED:
            return
        for user_id, times in list(self._seen.items()):
            if not times or now - times[-1] >= self.window:
                del self._seen[user_id]
                self._noticed.discard(user_id)

    @property
    def watched(self) -> int:
        """How many users' windows are kept (bounded)."""
        return len(self._seen)


@dataclass
class _ChatTurn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates holding or waiting for the lock


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat, with flood control per user."""

    # Told each update's fate (handled or dropped) and its seconds from hand-over to done
    # (the metrics); None: nobody.
    observe: Callable[[bool, float], None] | None = None

    def __init__(self, flood: FloodWatch, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES):
        super().__init__(max_concurrent_updates)
        self.flood = flood
        self._chats: dict[int, _ChatTurn] = {}
        self._notices: set[int] = set()  # ids of updates to answer with "one moment"

    @property
    def busy_chats(self) -> int:
        """Chats with an update being handled or waiting (idle chats keep no lock)."""
        return len(self._chats)

    def take_notice(self, update: Update) -> bool:
        """Whether ``update`` is to be answered with "one moment" (once) instead of handled."""
        if update.update_id in self._notices:
            self._notices.discard(update.update_id)
            return True
        return False

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's earlier updates, then handle this one (unless it is dropped)."""
        started = monotonic()
        handled = await self._process(update, coroutine)
        if self.observe is not None:
            self.observe(handled, monotonic() - started)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> bool:
        """``do_process_update``; False when the update was dropped unread."""
        chat_id, user_id = _keys(update)
        # Button presses are not counted: a press must always be answered (or its spinner
        # hangs), a fast walk through /settings is no flood, and each press counts only once.
        pressed = isinstance(update, Update) and update.callback_query is not None
        if user_id is not None and not pressed:
            verdict = self.flood.admit(user_id)
            if verdict is Verdict.DROP:
                _close(coroutine)
                log.debug("update dropped: its sender is over the flood limit")
                return False
            if verdict is Verdict.NOTICE and isinstance(update, Update):
                self._notices.add(update.update_id)
                log.info("a user is over the flood limit; answered once, then dropping for now")
        if chat_id is None:
            await coroutine
            return True
        turn = self._chats.setdefault(chat_id, _ChatTurn())
        turn.users += 1
        try:
            async with turn.lock:
                await coroutine
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._chats[chat_id]
        return True

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _keys(update: object) -> tuple[int | None, int | None]:
    """The chat an update belongs to (its order) and the user who sent it (the flood count)."""
    if not isinstance(update, Update):
        return None, None
    user = update.effective_user
    chat = update.effective_chat
    user_id = user.id if user is not None else None
    return (chat.id if chat is not None else user_id), user_id


def _close(coroutine: Awaitable[Any]) -> None:
    """Discard a handler coroutine that will never run (no "never awaited" warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


async def answer_flood(update: Update, context: BotContext) -> None:
    """Answer the update marked as the first over the flood limit with "one moment"."""
    processor = context.application.update_processor
    if not (isinstance(processor, PerChatUpdateProcessor) and processor.take_notice(update)):
        return
    CURRENT_UPDATE_ID.set(update.update_id)
    if update.callback_query is not None:
        await update.callback_query.answer()
    if update.effective_chat is not None and update.effective_chat.type == "private":
        await reply(update, context, texts.SLOW_DOWN)
    raise ApplicationHandlerStop


# Registered in FLOOD_GROUP, before every other handler; block=True keeps it in the task.
FLOOD_ANSWER = TypeHandler(Update, answer_flood, block=True)
