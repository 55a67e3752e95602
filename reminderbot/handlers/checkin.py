"""The answer buttons of the daily check-in."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from reminderbot import keyboards, texts
from reminderbot.handlers.reply import drop_buttons, reply
from reminderbot.logbook import record_checkin
from reminderbot.runtime import runtime_of


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the answer code and reply with its guidance."""
    runtime = runtime_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    code = query.data.removeprefix(keyboards.CHECKIN_PREFIX)
    async with runtime.sessions.begin() as session:
        await record_checkin(session, update.effective_user.id, code, runtime.clock.now())
    await query.answer()
    await drop_buttons(update)
    # The guidance is given even to someone who stopped meanwhile: it is health information.
    await reply(update, runtime, texts.CHECKIN_REPLIES[code])


HANDLERS = [CallbackQueryHandler(answer, pattern=keyboards.CHECKIN_PATTERN)]
