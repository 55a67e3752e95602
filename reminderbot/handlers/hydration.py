"""The "Done 💧" button under a hydration reminder."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from reminderbot import keyboards, texts
from reminderbot.handlers.reply import drop_buttons, language_of, reply
from reminderbot.logbook import log_glass
from reminderbot.runtime import runtime_of


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Count one glass for today and thank the user."""
    runtime = runtime_of(context)
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    async with runtime.sessions.begin() as session:
        count = await log_glass(
            session,
            update.effective_user.id,
            runtime.clock.now(),
            runtime.settings.default_timezone,
        )
    if count is None:
        await query.answer(runtime.catalog.label(texts.BUTTON_EXPIRED, language_of(update)))
        await drop_buttons(update)
        return
    await query.answer()
    await drop_buttons(update)
    await reply(update, runtime, texts.HYDRATION_THANKS, count=count)


HANDLERS = [CallbackQueryHandler(done, pattern=f"^{keyboards.HYDRATION_DONE}$")]
