"""/stop (and stop words typed as text): every reminder ends at once."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import language_of, reply
from reminderbot.subscriptions import stop, wait_for_sends_in_flight


async def stop_reminders(update: Update, context: BotContext) -> None:
    """Stop all reminders; the confirmation is the last thing the bot sends.

    It offers a week's pause instead, or erasing the data; nothing else follows it.
    """
    runtime = context.runtime
    assert update.effective_user is not None
    async with runtime.sessions.begin() as session:
        user_id = await stop(session, update.effective_user.id, runtime.clock.now())
    if user_id is None:
        await reply(update, context, texts.STOP_NOTHING)
        return
    await wait_for_sends_in_flight(runtime.sessions, user_id, runtime.clock)
    lang = await language_of(update, context)
    await reply(update, context, texts.STOP_DONE, keyboards.stopped(runtime.catalog, lang))


HANDLERS = [CommandHandler("stop", stop_reminders, filters=PRIVATE_COMMANDS)]
