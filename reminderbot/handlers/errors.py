"""The last resort: log the failure without personal data, tell the user kindly."""

from __future__ import annotations

import logging

from telegram import Update

from reminderbot import texts
from reminderbot.context import BotContext
from reminderbot.handlers.reply import reply

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception type and where it came from; no update content, no user ids."""
    error = context.error
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
