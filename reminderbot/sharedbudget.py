"""Telegram's limits shared by every replica of one bot, through Redis (``REDIS_URL``).

Telegram counts a bot's messages, not a process's: with several replicas each one takes its
turns from here as well as from its own limiter (``ratelimit``), which still puts replies
ahead of reminders within the process. Storage and counting are the ``limits`` library's.

- Overall: time is cut into slots of ``SLACK / per_second`` seconds of the wall clock, and a
  slot is one message: whoever records the first hit on the slot's key (a fixed window, one
  hit) sends in it, at the slot's start. A slot is only used within ``LATE`` of its start, so
  the sends of ``per_second`` consecutive slots span more than a second, wherever the second
  begins (``SLACK - 1 >= LATE``), plus ``SLACK - 1 - LATE`` for the network's jitter.
- Per chat: a moving window of one message per ``chat_interval`` (whole seconds) per chat id;
  each chat's key expires with its window.
- A 429 (``retry_after``) to any replica pauses them all: a key that expires with the wait,
  looked at every ``PAUSE_CHECK`` seconds.

The keys carry the bot's id (from the token): bots sharing one Redis keep their own budgets.
"""

from __future__ import annotations

import asyncio
import math
import time

import redis.asyncio as aioredis
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from reminderbot.config import Settings

# A slot is this much longer than 1/limit: room for a late start (LATE) and 20 ms of the
# network's jitter (a new connection's first request arrives that much later than the next).
SLACK = 1.03
# A slot starting more than this long ago is not used (its send would come too close to the
# send of the slot a second later).
LATE = 0.01
# How often a replica looks whether another one was told to wait (429).
PAUSE_CHECK = 0.25
# A slot key lives this long (the fixed window): long after its slot has gone.
_SLOT_ITEM = RateLimitItemPerSecond(1, 2)


def redis_storage_uri(url: str) -> str:
    """The ``limits`` URI of a ``REDIS_URL`` (``redis://`` → ``async+redis://``)."""
    return url if url.startswith("async+") else f"async+{url}"


class SharedBudget:
    """Turns for one bot across every process that uses the same Redis."""

    def __init__(
        self,
        url: str,
        *,
        bot_id: str,
        per_second: float,
        chat_interval: float = 1.0,
    ) -> None:
        self.storage = RedisStorage(
            redis_storage_uri(url), implementation="redispy", key_prefix=f"reminderbot:{bot_id}",
            # A Redis that does not answer fails a turn in seconds, not minutes.
            socket_connect_timeout=2, socket_timeout=2,
        )
        self.per_second = per_second
        self.slot = SLACK / per_second
        # The 429 pause is a plain key with an expiry, kept beside the `limits` windows.
        self._client = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._pause_key = f"reminderbot:{bot_id}:paused"
        self._pause_checked = -math.inf  # monotonic time of the last look
        self._paused_until = 0.0  # monotonic time the last look said the pause ends
        self._slots = FixedWindowRateLimiter(self.storage)
        self._chats = MovingWindowRateLimiter(self.storage)
        # Telegram's one message a second per chat; `limits` counts in whole seconds.
        self._chat_item = (
            RateLimitItemPerSecond(1, max(1, math.ceil(chat_interval))) if chat_interval else None
        )

    async def turn(self) -> None:
        """Wait for an overall slot of this bot's budget and take it (sends at its start)."""
        tried: int | None = None  # the last slot this call tried (another replica took it)
        while True:
            now = time.time()
            index = math.floor(now / self.slot)
            if now - index * self.slot > LATE:
                index += 1
            if tried is not None:
                index = max(index, tried + 1)
            start = index * self.slot
            if start > now:
                await asyncio.sleep(start - now)
                if time.time() - start > LATE:  # woken too late for it: the next slot
                    continue
            tried = index
            if await self._slots.hit(_SLOT_ITEM, "slot", str(index)):
                return

    async def chat_wait(self, chat_id: int) -> float:
        """Take ``chat_id``'s turn and return 0, or the seconds until another replica's
        last send to that chat is far enough back (nothing is taken then)."""
        if self._chat_item is None:
            return 0.0
        key = str(chat_id)
        if await self._chats.hit(self._chat_item, "chat", key):
            return 0.0
        stats = await self._chats.get_window_stats(self._chat_item, "chat", key)
        return max(0.01, stats.reset_time - time.time())

    async def pause(self, seconds: float) -> None:
        """Telegram told this replica to wait ``seconds`` (429): every replica waits."""
        await self._client.set(self._pause_key, b"1", px=max(1, int(seconds * 1000)))
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def paused_for(self) -> float:
        """Seconds every replica must still wait after a 429 (0: none), looked up in Redis at
        most every ``PAUSE_CHECK`` seconds."""
        now = time.monotonic()
        if now - self._pause_checked >= PAUSE_CHECK:
            self._pause_checked = now
            left = int(await self._client.pttl(self._pause_key))
            if left > 0:
                self._paused_until = max(self._paused_until, now + left / 1000)
        return max(0.0, self._paused_until - now)

    async def close(self) -> None:
        """Close the connections to Redis."""
        await self._client.aclose()

    async def reachable(self) -> bool:
        """Whether Redis answers."""
        return bool(await self.storage.check())


def shared_budget_for(
    settings: Settings, per_second: float, chat_interval: float = 1.0
) -> SharedBudget | None:
    """The budget every process of this bot shares (``REDIS_URL``), or None without one."""
    if not settings.redis_url:
        return None
    bot_id = settings.require_token().partition(":")[0]
    return SharedBudget(settings.redis_url, bot_id=bot_id, per_second=per_second,
                        chat_interval=chat_interval)
