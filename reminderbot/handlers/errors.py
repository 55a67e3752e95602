"""The last resort: log the failure without personal data, tell the user kindly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError

from reminderbot import texts
from reminderbot.context import BotContext
from reminderbot.db.models import StopReason
from reminderbot.handlers.reply import reply
from reminderbot.subscriptions import stop
from reminderbot.telegramhttp import failure_of

log = logging.getLogger(__name__)


async def user_blocked(update: Update, context: BotContext, error: Forbidden) -> None:
    """Telegram refused an answer with 403: the user blocked the bot (or deleted their account)
    a moment after writing. They are stopped as a 403 on a reminder stops them, and it is one
    line without a traceback; nothing more is sent."""
    chat, user = update.effective_chat, update.effective_user
    stopped = None
    if chat is not None and user is not None and chat.type == ChatType.PRIVATE:
        runtime = context.runtime
        async with runtime.sessions.begin() as session:
            stopped = await stop(session, user.id, runtime.clock.now(), StopReason.BLOCKED)
    log.info("an answer was refused by Telegram (%s)%s", failure_of(error).reason,
             "; user deactivated" if stopped is not None else "")


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception type and where it came from; no update content, no user ids."""
    error = context.error
    if isinstance(error, Forbidden) and isinstance(update, Update):
        await user_blocked(update, context, error)
        return
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        # Tried again already where that was safe (telegramhttp); an apology would fail too.
        log.warning("an answer could not be sent: %s (%s)", type(error).__name__,
                    failure_of(error).reason)
        return
    log.error(
        "handler failed: %s",
        type(error).__name__,
        exc_info=(type(error), error, error.__traceback__) if error else None,
    )
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == "private"
    ):
        try:
            await reply(update, context, texts.ERROR)
        except Exception:  # the apology itself failed (e.g. the network): nothing more to do
            log.warning("could not tell the user about the failure")
