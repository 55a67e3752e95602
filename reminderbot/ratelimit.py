"""Telegram's sending limits: 30 messages a second overall, one a second per chat.

PTB's ``AIORateLimiter`` keeps the overall and per-group limits and waits out ``RetryAfter``;
it has no limit per private chat, so this wraps it with one (for ``send*`` methods only).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter, BaseRateLimiter

OVERALL_PER_SECOND = 30
# Beyond this many idle per-chat limiters, the idle ones are dropped (as PTB does for groups).
_MAX_IDLE_CHATS = 1024


def telegram_limits(max_retries: int = 2) -> AIORateLimiter:
    """PTB's limiter, smoothed so that no single second carries more than 30 messages.

    A bucket of 30 per second would let 60 through in the first second (a full bucket, then
    the refill); a bucket of one refilled every 1/30 s keeps every one-second window at 30.
    """
    return AIORateLimiter(
        overall_max_rate=1, overall_time_period=1 / OVERALL_PER_SECOND, max_retries=max_retries
    )


class TelegramRateLimiter(BaseRateLimiter[int]):
    """``AIORateLimiter`` plus at most one message per ``chat_interval`` seconds in each chat."""

    def __init__(self, inner: AIORateLimiter | None = None, *, chat_interval: float = 1.0):
        self._inner = inner if inner is not None else telegram_limits()
        self._chat_interval = chat_interval
        self._chats: dict[int, AsyncLimiter] = {}

    async def initialize(self) -> None:
        """Nothing to set up beyond the inner limiter."""
        await self._inner.initialize()

    async def shutdown(self) -> None:
        """Nothing to tear down beyond the inner limiter."""
        await self._inner.shutdown()

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if len(self._chats) > _MAX_IDLE_CHATS:
                for key, idle in list(self._chats.items()):
                    if idle.has_capacity(1):
                        del self._chats[key]
            limiter = self._chats[chat_id] = AsyncLimiter(1, self._chat_interval)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for the chat's turn (new messages only), then for the overall limits."""
        chat_id = data.get("chat_id")
        if self._chat_interval > 0 and endpoint.startswith("send") and isinstance(chat_id, int):
            async with self._chat_limiter(chat_id):
                return await self._inner.process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await self._inner.process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
