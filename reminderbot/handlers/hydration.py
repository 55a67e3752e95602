"""The buttons under a reminder: "Done 💧" counts a glass; "Snooze 30 min" asks again later."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.db.models import UserStatus
from reminderbot.display import local_label
from reminderbot.handlers.reply import drop_buttons, label, reply
from reminderbot.logbook import log_glass
from reminderbot.subscriptions import find_user, snooze


async def done(update: Update, context: BotContext) -> None:
    """Count one glass for the user's local today and thank them."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    count = None
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is not None and user.status != UserStatus.STOPPED:
            count = await log_glass(session, user, runtime.clock.now(), runtime.planner)
    if count is None:
        await query.answer(await label(update, context, texts.BUTTON_EXPIRED))
        await drop_buttons(update)
        return
    await query.answer()
    await drop_buttons(update)
    await reply(update, context, texts.HYDRATION_THANKS, count=count)


async def snooze_button(update: Update, context: BotContext) -> None:
    """The reminder comes once more in 30 minutes; the schedule goes on as before."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    kind = query.data.removeprefix(keyboards.SNOOZE_PREFIX)
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is None or user.status != UserStatus.ACTIVE:
            due = None
        else:
            due = await snooze(session, user, kind, now)
            zone = runtime.planner.zone(user)
    await drop_buttons(update)
    if due is None:
        await query.answer(await label(update, context, texts.BUTTON_EXPIRED))
        return
    await query.answer(await label(update, context, texts.SNOOZE_DONE,
                                   time=local_label(due, zone, now)))


HANDLERS = [
    CallbackQueryHandler(done, pattern=f"^{keyboards.HYDRATION_DONE}$"),
    CallbackQueryHandler(snooze_button, pattern=keyboards.SNOOZE_PATTERN),
]
