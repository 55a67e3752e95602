"""The `announce` command's process: its own dispatcher loop for announcement rows only."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import ExtBot
from tqdm import tqdm

from reminderbot.announce import (
    BATCH,
    AnnouncementError,
    Progress,
    count_recipients,
    mark_on_the_wire,
    prepare,
    read_announcement,
    send_all,
)
from reminderbot.app import build_runtime, file_url_for
from reminderbot.config import Settings
from reminderbot.db.migrate import upgrade
from reminderbot.db.models import ANNOUNCEMENT_KIND
from reminderbot.dispatch import Dispatcher
from reminderbot.htmltext import to_terminal
from reminderbot.inflight import SendGate
from reminderbot.ratelimit import (
    OVERALL_PER_SECOND,
    Lane,
    TelegramRateLimiter,
    overall_per_second,
)
from reminderbot.sharedbudget import SharedBudget, shared_budget_for
from reminderbot.telegramhttp import TelegramRequest

__all__ = ["AnnouncementError", "run_announce"]


class _MarkingLimiter(TelegramRateLimiter):
    """The reminders' rate limiter, noting each announcement send just as its turn comes."""

    def __init__(
        self,
        mark: Callable[[int], Awaitable[None]],
        gate: SendGate,
        *,
        per_second: float = OVERALL_PER_SECOND,
        shared: SharedBudget | None = None,
    ) -> None:
        super().__init__(gate=gate, per_second=per_second, shared=shared)
        self._mark = mark

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat_id = data.get("chat_id")
        if endpoint != "sendMessage" or not isinstance(chat_id, int):
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args)

        async def marked(*a: Any, **kw: Any) -> bool | JSONDict | list[JSONDict]:
            await self._mark(chat_id)
            return await callback(*a, **kw)

        return await super().process_request(
            marked, args, kwargs, endpoint, data, rate_limit_args)


def run_announce(settings: Settings, file: Path, *, dry_run: bool) -> int:
    """Send (or with ``dry_run`` only count and show) the announcement in ``file``; exit 0."""
    body = read_announcement(file)
    if not dry_run:
        settings.require_token()
    return asyncio.run(_announce(settings, body, dry_run=dry_run))


async def _announce(settings: Settings, body: str, *, dry_run: bool) -> int:
    runtime = build_runtime(settings)
    try:
        await upgrade(runtime.engine)
        if dry_run:
            count = await count_recipients(runtime.sessions, body)
            print(f"{count} recipients")
            print(to_terminal(body, color=False))
            return 0
        announcement_id = await prepare(runtime.sessions, body, runtime.clock.now())
        gate = SendGate()
        per_second = overall_per_second(settings.telegram_paid_broadcast)
        bot: ExtBot[Any] = ExtBot(
            settings.require_token(),
            base_url=settings.telegram_api_base_url,
            base_file_url=file_url_for(settings.telegram_api_base_url),
            request=TelegramRequest(),
            rate_limiter=_MarkingLimiter(
                lambda chat: mark_on_the_wire(
                    runtime.sessions, announcement_id, chat, runtime.clock.now()),
                gate,
                # The replicas' budget and limit: an announcement is one more sender.
                per_second=per_second,
                shared=shared_budget_for(settings, per_second),
            ),
        )
        dispatcher = Dispatcher(
            runtime, batch_size=BATCH, slice_size=BATCH, sends=gate,
            kinds=frozenset({ANNOUNCEMENT_KIND}),
        )
        bar = tqdm(unit="msg", file=sys.stderr, desc="announce", dynamic_ncols=True)

        def show(state: Progress) -> None:
            bar.total = state.total
            bar.update(state.done - bar.n)

        async with bot:
            final = await send_all(bot, dispatcher, runtime.sessions, announcement_id, show)
        bar.close()
        print(f"{final.done} of {final.total} done")
        return 0
    finally:
        await runtime.engine.dispose()
