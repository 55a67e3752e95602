"""/stop (and stop words typed as text): every reminder ends at once."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CommandHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import language_of, reply
from reminderbot.inflight import sends_of
from reminderbot.subscriptions import stop

log = logging.getLogger(__name__)


async def stop_reminders(update: Update, context: BotContext) -> None:
    """Stop all reminders; the confirmation is the last thing the bot sends.

    It offers a week's pause instead, or erasing the data; nothing else follows it: once the
    stop is committed, a reminder for this chat not yet sent is dropped, and the confirmation
    waits only for one already on its way to Telegram (nobody else waits for it).
    """
    runtime = context.runtime
    assert update.effective_user is not None and update.effective_chat is not None
    async with runtime.sessions.begin() as session:
        user_id = await stop(session, update.effective_user.id, runtime.clock.now())
    if user_id is None:
        await reply(update, context, texts.STOP_NOTHING)
        return
    sends = sends_of(context.bot_data)
    if sends is not None:
        chat_id = update.effective_chat.id
        sends.stop(chat_id)  # after the commit: a dispatcher that reads the user now sees it
        if not await sends.wait_idle(chat_id):
            log.warning("a reminder was still on its way when /stop was confirmed")
    lang = await language_of(update, context)
    await reply(update, context, texts.STOP_DONE, keyboards.stopped(runtime.catalog, lang))


HANDLERS = [CommandHandler("stop", stop_reminders, filters=PRIVATE_COMMANDS)]
