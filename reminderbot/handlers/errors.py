"""The last resort: log the failure without personal data, tell the user kindly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from reminderbot import texts
from reminderbot.handlers.reply import reply
from reminderbot.runtime import runtime_of

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
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
            await reply(update, runtime_of(context), texts.ERROR)
        except Exception:  # the apology itself failed (e.g. the network): nothing more to do
            log.warning("could not tell the user about the failure")
