"""/stop: every reminder ends at once."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from reminderbot import texts
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import reply
from reminderbot.runtime import runtime_of
from reminderbot.subscriptions import stop, wait_for_sends_in_flight


async def stop_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop all reminders; the confirmation is the last thing the bot sends."""
    runtime = runtime_of(context)
    assert update.effective_user is not None
    async with runtime.sessions.begin() as session:
        user_id = await stop(session, update.effective_user.id, runtime.clock.now())
    if user_id is None:
        await reply(update, runtime, texts.STOP_NOTHING)
        return
    await wait_for_sends_in_flight(runtime.sessions, user_id, runtime.clock)
    await reply(update, runtime, texts.STOP_DONE)


HANDLERS = [CommandHandler("stop", stop_command, filters=PRIVATE_COMMANDS)]
