"""Telegram's sending limits, with people first: 30 messages a second overall, one a second per
chat, 20 a minute per group, and replies to people ahead of queued reminders.

Every request that names a chat takes a turn: at most one every 1/30 s overall (so no second
carries more than 30), and for ``send*`` methods at most one per ``chat_interval`` in each chat.
Turns go to the reply lane first; the bulk lane (reminders) gets the turns no reply wants. So a
reply waits at most for the sends already handed to the network, never for queued reminders.

With ``REDIS_URL`` every turn is also taken from the bot's budget in Redis, which every
replica shares (:mod:`reminderbot.sharedbudget`).

A send is bulk when it is made with ``rate_limit_args=Lane.BULK`` or inside :func:`bulk_sends`
(the dispatcher); anything else is a reply. A bulk send to a chat that stopped meanwhile (see
:mod:`reminderbot.inflight`) is dropped when its turn comes, with :class:`ChatStopped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from aiolimiter import AsyncLimiter
from telegram._utils.types import JSONDict
from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from reminderbot.inflight import SendGate
from reminderbot.sharedbudget import SharedBudget

log = logging.getLogger(__name__)

OVERALL_PER_SECOND = 30
# With paid broadcasts (TELEGRAM_PAID_BROADCAST): Telegram's limit for a bot that pays.
PAID_BROADCAST_PER_SECOND = 1000
GROUP_PER_MINUTE = 20
# How often a send that Telegram answered with 429 (RetryAfter) is tried again.
MAX_RETRIES = 2
# Turns come 1 % slower than the limit, so that any second, as Telegram sees it (a first
# answer a few milliseconds slower than the rest), still carries at most the limit.
_SLACK = 1.01
# A second's worth of sends spans at least this much more than a second, counted from when
# each sender went on after its turn (a busy event loop delays that by up to 50 ms, which the
# window then absorbs): what is left, PTB and the network, differs by less between two sends.
# Costs 1.5 % of 30/s; one 429 costs every sender its retry_after.
_WINDOW_MARGIN = 0.015
# After a 429 (a machine so busy that sends bunch up more than that), the margin is this for
# a while: 5 % of 30/s, which held with no 429 on a machine with twice its cores' work.
_WIDE_WINDOW_MARGIN = 0.05
WIDE_MARGIN_SECONDS = 600.0
# After Redis failed (REDIS_URL), turns are this process's own for this long before it is
# asked again: a Redis that does not answer must not hold every send up.
SHARED_RETRY_SECONDS = 10.0
# Beyond this many chats, the ones whose pause has passed are forgotten.
_MAX_CHATS = 1024


def overall_per_second(paid_broadcast: bool) -> int:
    """Messages a second the whole bot may send: 1,000 with paid broadcasts, else 30."""
    return PAID_BROADCAST_PER_SECOND if paid_broadcast else OVERALL_PER_SECOND


class Lane(StrEnum):
    """Who waits for whom: replies to people first, then bulk sends (reminders)."""

    REPLY = "reply"
    BULK = "bulk"


# The lane of sends made in this context (the dispatcher sets BULK around its sends).
SENDING_LANE: ContextVar[Lane] = ContextVar("reminderbot_sending_lane", default=Lane.REPLY)


@contextlib.contextmanager
def bulk_sends() -> Iterator[None]:
    """Mark every send made inside (and in tasks started inside) as bulk."""
    token = SENDING_LANE.set(Lane.BULK)
    try:
        yield
    finally:
        SENDING_LANE.reset(token)


class ChatStopped(NetworkError):
    """A queued reminder was dropped: its chat stopped reminders before the send went out.

    A ``NetworkError`` without an HTTP cause: to a caller, a send known not to have happened.
    """

    def __init__(self) -> None:
        super().__init__("the user stopped reminders; not sent")


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[None]
    chat_id: int | None  # the chat whose one-a-second pause applies, if any
    stop_check: int | None  # a bulk send's chat: dropped if it stopped meanwhile
    lane: Lane = Lane.REPLY


class _Turns:
    """Hands out turns to send: evenly spaced overall, spaced per chat, reply lane first."""

    def __init__(self, per_second: float, chat_interval: float, gate: SendGate | None,
                 shared: SharedBudget | None = None) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.gate = gate
        # Other replicas' turns (REDIS_URL): a turn given here is taken there too, one at a time.
        self.shared = shared
        self._sharing: asyncio.Task[None] | None = None
        self._shared_down = False
        self._shared_retry_at = 0.0  # loop time: Redis failed, asked again from then
        self._next = 0.0  # loop time from which the next turn may be given
        self._paused_until = 0.0  # after a 429, nobody sends before this
        self._wide_until = 0.0  # after a 429, the wide window margin holds until this
        self._chat_next: dict[int, float] = {}  # chat -> loop time of its next turn
        self._lanes: dict[Lane, deque[_Waiter]] = {Lane.REPLY: deque(), Lane.BULK: deque()}
        self._timer: asyncio.TimerHandle | None = None
        # The last second's worth of turns as given, and as their senders went on: a late
        # timer catching up, or a sender resuming late, never puts more in 1 s.
        self._recent: deque[float] = deque(maxlen=max(1, int(per_second)))
        self._resumed: deque[float] = deque(maxlen=max(1, int(per_second)))

    @property
    def interval(self) -> float:
        """Seconds between two turns overall."""
        return _SLACK / self.per_second

    def waiting(self, lane: Lane) -> int:
        """How many sends of ``lane`` wait for a turn."""
        return sum(1 for w in self._lanes[lane] if not w.future.done())

    async def take(self, lane: Lane, chat_id: int | None, stop_check: int | None) -> None:
        """Wait for a turn; raises ChatStopped for a bulk send whose chat stopped meanwhile."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), chat_id, stop_check, lane)
        self._lanes[lane].append(waiter)
        self._serve()
        try:
            await waiter.future
            self._resumed.append(loop.time())
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.release(stop_check)  # a turn given just as the caller gave up
            self._serve()
            raise

    def pause(self, seconds: float) -> None:
        """Telegram asked to wait (429): nobody sends for ``seconds``, and a second's worth of
        sends keeps the wide margin for ``WIDE_MARGIN_SECONDS``."""
        now = asyncio.get_running_loop().time()
        self._paused_until = max(self._paused_until, now + seconds)
        self._wide_until = now + WIDE_MARGIN_SECONDS

    @property
    def margin(self) -> float:
        """How much more than a second a second's worth of sends spans now."""
        wide = asyncio.get_running_loop().time() < self._wide_until
        return _WIDE_WINDOW_MARGIN if wide else _WINDOW_MARGIN

    def _ready(self, waiter: _Waiter, now: float) -> bool:
        return waiter.chat_id is None or self._chat_next.get(waiter.chat_id, 0.0) <= now

    def _pick(self, now: float) -> _Waiter | None:
        """The first waiter whose chat may be sent to, replies first; drops stopped ones."""
        for lane in (Lane.REPLY, Lane.BULK):
            queue = self._lanes[lane]
            for waiter in list(queue):
                if waiter.future.done():  # cancelled while waiting
                    queue.remove(waiter)
                    continue
                stopped = (
                    waiter.stop_check is not None
                    and self.gate is not None
                    and self.gate.is_stopped(waiter.stop_check)
                )
                if stopped:
                    queue.remove(waiter)
                    waiter.future.set_exception(ChatStopped())
                    continue
                if self._ready(waiter, now):
                    queue.remove(waiter)
                    return waiter
        return None

    def _serve(self) -> None:
        """Give every turn that is due now; set a timer for the next one."""
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sharing is not None:  # a turn is being taken from the shared budget
            return
        while True:
            now = loop.time()
            start = max(self._next, self._paused_until)
            for window in (self._recent, self._resumed):
                if len(window) == window.maxlen:
                    start = max(start, window[0] + 1.0 + self.margin)
            if now < start:
                if self.waiting(Lane.REPLY) or self.waiting(Lane.BULK):
                    self._timer = loop.call_at(start, self._serve)
                return
            waiter = self._pick(now)
            if waiter is None:
                wake = [self._chat_next[w.chat_id] for q in self._lanes.values() for w in q
                        if w.chat_id is not None and w.chat_id in self._chat_next]
                if wake:
                    self._timer = loop.call_at(min(wake), self._serve)
                return
            if self.shared is not None:
                self._sharing = asyncio.create_task(self._take_shared(waiter))
                return
            self._give(waiter, now)

    def _give(self, waiter: _Waiter, now: float) -> None:
        """Hand ``waiter`` its turn now."""
        # Keep the even spacing through a burst (a late timer does not cost a turn);
        # after an idle spell, count from now.
        idle = now - self._next >= self.interval
        self._next = (now if idle else self._next) + self.interval
        self._recent.append(now)
        if waiter.chat_id is not None:
            self._forget_idle_chats(now)
            self._chat_next[waiter.chat_id] = now + self.chat_interval
        if waiter.stop_check is not None and self.gate is not None:
            self.gate.begin(waiter.stop_check)  # on the wire from now: /stop waits for it
        waiter.future.set_result(None)

    async def _take_shared(self, waiter: _Waiter) -> None:
        """Take ``waiter``'s turn from the shared budget too, then give it, or queue it again
        when another replica sent to its chat within the last second."""
        assert self.shared is not None
        loop = asyncio.get_running_loop()
        wait = 0.0
        paused = 0.0
        try:
            if loop.time() >= self._shared_retry_at:
                paused = await self.shared.paused_for()
            if paused <= 0 and loop.time() >= self._shared_retry_at:
                await self.shared.turn()
                if waiter.chat_id is not None:
                    wait = await self.shared.chat_wait(waiter.chat_id)
                if self._shared_down:
                    self._shared_down = False
                    log.warning("Redis answers again: sending within the shared budget")
        except Exception as exc:  # Redis down: this process's own limits still hold
            self._shared_retry_at = loop.time() + SHARED_RETRY_SECONDS
            if not self._shared_down:
                self._shared_down = True
                log.warning("Redis unreachable (%s): sending within this process's limits "
                            "only", type(exc).__name__)
        finally:
            self._sharing = None
        now = loop.time()
        stopped = (waiter.stop_check is not None and self.gate is not None
                   and self.gate.is_stopped(waiter.stop_check))
        if waiter.future.done():  # gave up meanwhile: the slot goes unused
            pass
        elif stopped:
            waiter.future.set_exception(ChatStopped())
        elif paused > 0:  # another replica was told to wait: this one waits too
            self.pause(paused)
            self._lanes[waiter.lane].appendleft(waiter)
        elif wait > 0 and waiter.chat_id is not None:
            self._chat_next[waiter.chat_id] = now + wait
            self._lanes[waiter.lane].appendleft(waiter)
        else:
            self._give(waiter, now)
        self._serve()

    def close(self) -> None:
        """Stop taking shared turns (the process is stopping)."""
        if self._sharing is not None:
            self._sharing.cancel()

    async def share_pause(self, seconds: float) -> None:
        """Telegram asked this process to wait: every replica sharing the budget waits."""
        if self.shared is None:
            return
        try:
            await self.shared.pause(seconds)
        except Exception as exc:  # Redis down: this process still waits
            log.warning("could not share a 429 pause through Redis (%s)", type(exc).__name__)

    def _forget_idle_chats(self, now: float) -> None:
        if len(self._chat_next) > _MAX_CHATS:
            for chat_id, at in list(self._chat_next.items()):
                if at <= now:
                    del self._chat_next[chat_id]

    def release(self, stop_check: int | None) -> None:
        """A send that took a turn came back."""
        if stop_check is not None and self.gate is not None:
            self.gate.end(stop_check)


class TelegramRateLimiter(BaseRateLimiter[Lane]):
    """Telegram's limits with a reply lane ahead of a bulk lane (see the module docstring)."""

    # Called on every 429 (RetryAfter) Telegram answers (the metrics); None: nobody.
    on_retry_after: Callable[[], None] | None = None

    def __init__(
        self,
        *,
        chat_interval: float = 1.0,
        per_second: float = OVERALL_PER_SECOND,
        gate: SendGate | None = None,
        max_retries: int = MAX_RETRIES,
        shared: SharedBudget | None = None,
    ) -> None:
        self._turns = _Turns(per_second, chat_interval, gate, shared)
        self._max_retries = max_retries
        self._groups: dict[int | str, AsyncLimiter] = {}

    @property
    def gate(self) -> SendGate | None:
        """Where stop marks and sends on the wire are kept (None: no stop checks)."""
        return self._turns.gate

    def waiting(self, lane: Lane) -> int:
        """How many sends of ``lane`` wait for their turn right now."""
        return self._turns.waiting(lane)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Stop taking turns from the shared budget."""
        self._turns.close()
        if self._turns.shared is not None:
            await self._turns.shared.close()

    def _group_limiter(self, group: int | str) -> AsyncLimiter:
        limiter = self._groups.get(group)
        if limiter is None:
            if len(self._groups) > _MAX_CHATS:
                for key, idle in list(self._groups.items()):
                    if idle.has_capacity(idle.max_rate):
                        del self._groups[key]
            limiter = self._groups[group] = AsyncLimiter(GROUP_PER_MINUTE, 60)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for a turn (requests that name a chat), send, and retry after a 429."""
        chat_id = data.get("chat_id")
        if chat_id is None:  # getUpdates, answerCallbackQuery, ...: not limited
            return await callback(*args, **kwargs)
        lane = rate_limit_args if isinstance(rate_limit_args, Lane) else SENDING_LANE.get()
        private = isinstance(chat_id, int) and chat_id > 0
        spaced = chat_id if isinstance(chat_id, int) and endpoint.startswith("send") else None
        if not self._turns.chat_interval:
            spaced = None
        stop_check = chat_id if lane is Lane.BULK and private else None
        group = None if private else self._group_limiter(chat_id)
        for attempt in range(self._max_retries + 1):
            async with group if group is not None else contextlib.nullcontext():
                await self._turns.take(lane, spaced, stop_check)
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    if self.on_retry_after is not None:
                        self.on_retry_after()
                    if attempt == self._max_retries:
                        raise
                    wait = exc.retry_after
                    seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
                    await self._turns.share_pause(seconds + 0.1)
                    log.info("Telegram asked to slow down; pausing sends for %.1f s", seconds)
                    self._turns.pause(seconds + 0.1)
                finally:
                    self._turns.release(stop_check)
        raise AssertionError("unreachable")  # pragma: no cover
