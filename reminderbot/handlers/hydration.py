"""The buttons under a reminder: "Done 💧" counts a glass; "Snooze 30 min" asks again later."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.db.models import ScheduleKind, UserStatus
from reminderbot.display import local_label
from reminderbot.handlers.reply import drop_buttons, label, pressed, refuse_press, reply
from reminderbot.logbook import log_glass
from reminderbot.prompts import answer_prompt
from reminderbot.subscriptions import SNOOZABLE, find_user, snooze


async def done(update: Update, context: BotContext) -> None:
    """Count one glass for the user's local today and thank them."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    count = None
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        # Only on a water reminder (or plan nudge) sent to this user, and only once (prompts).
        if (
            user is not None
            and user.status != UserStatus.STOPPED
            and await answer_prompt(session, user.id, *pressed(update),
                                    (ScheduleKind.HYDRATION, ScheduleKind.PLAN), now)
        ):
            count = await log_glass(session, user, now, runtime.planner)
    if count is None:
        await refuse_press(update, context)
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
        if (
            user is None
            or user.status != UserStatus.ACTIVE
            or kind not in SNOOZABLE
            or not await answer_prompt(session, user.id, *pressed(update), (kind,), now)
        ):
            due = None
        else:
            due = await snooze(session, user, kind, now)
            zone = runtime.planner.zone(user)
    if due is None:
        await refuse_press(update, context)
        return
    await drop_buttons(update)
    await query.answer(await label(update, context, texts.SNOOZE_DONE,
                                   time=local_label(due, zone, now)))


HANDLERS = [
    CallbackQueryHandler(done, pattern=f"^{keyboards.HYDRATION_DONE}$"),
    CallbackQueryHandler(snooze_button, pattern=keyboards.SNOOZE_PATTERN),
]
