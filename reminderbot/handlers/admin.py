"""/stats for the operator's admins (ADMIN_USER_IDS); to anyone else it is an unknown command.

Not in the command menu or /help: only people who were told about it know it exists.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CommandHandler

from reminderbot import texts
from reminderbot.context import BotContext
from reminderbot.handlers.fallback import unknown_message
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import reply
from reminderbot.stats import collect
from reminderbot.statsreport import report, table

log = logging.getLogger(__name__)


def is_admin(update: Update, context: BotContext) -> bool:
    """Whether the sender's Telegram id is in ADMIN_USER_IDS."""
    user = update.effective_user
    return user is not None and user.id in context.runtime.settings.admin_user_ids


async def stats(update: Update, context: BotContext) -> None:
    """The usage table, counts only; anyone else gets exactly the unknown-command reply."""
    if not is_admin(update, context):
        # Who tried is not logged: the update id on the line is enough to correlate.
        log.warning("admin command /stats refused: the sender is not in ADMIN_USER_IDS")
        await unknown_message(update, context)
        return
    runtime = context.runtime
    async with runtime.sessions() as session:
        counts = await collect(session, runtime.clock.now())
    await reply(update, context, texts.ADMIN_STATS, table=table(report(counts)))


HANDLERS = [CommandHandler("stats", stats, filters=PRIVATE_COMMANDS)]
