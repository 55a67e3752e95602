"""/pause and /resume: a break from reminders, with nothing sent for the missed slots."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.db.models import UserStatus
from reminderbot.display import local_label
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import drop_buttons, label, language_of, reply
from reminderbot.subscriptions import find_user, pause, resume
from reminderbot.timeinput import parse_duration

BUTTON_DURATIONS = {"1d": timedelta(days=1), "1w": timedelta(weeks=1), "resume": None}


async def pause_for(update: Update, context: BotContext, length: timedelta | None) -> bool:
    """Pause the user's reminders for ``length`` (None: until /resume) and say until when.

    Works from any state a stored user is in (after /stop it turns reminders back on, paused).
    False when the user is not stored.
    """
    runtime = context.runtime
    assert update.effective_user is not None
    now = runtime.clock.now()
    until = now + length if length is not None else None
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is None:
            return False
        await pause(session, user, until, runtime.planner, now)
        zone = runtime.planner.zone(user)
    if until is None:
        await reply(update, context, texts.PAUSE_DONE_INDEFINITELY)
    else:
        await reply(update, context, texts.PAUSE_DONE_UNTIL, until=local_label(until, zone, now))
    return True


async def pause_command(update: Update, context: BotContext) -> None:
    """/pause offers buttons; /pause 3d, 12h, 1w pause straight away."""
    runtime = context.runtime
    assert update.effective_user is not None
    async with runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
    if user is None or user.status == UserStatus.STOPPED:
        await reply(update, context, texts.NOT_SUBSCRIBED)
        return
    lang = await language_of(update, context)
    if context.args:
        length = parse_duration(" ".join(context.args))
        if length is None:
            await reply(update, context, texts.PAUSE_BAD_DURATION,
                        keyboards.pause(runtime.catalog, lang))
            return
        await pause_for(update, context, length)
        return
    await reply(update, context, texts.PAUSE_ASK, keyboards.pause(runtime.catalog, lang))


async def pause_button(update: Update, context: BotContext) -> None:
    """1 day, 1 week, or until /resume."""
    query = update.callback_query
    assert query is not None and query.data is not None
    length = BUTTON_DURATIONS[query.data.removeprefix(keyboards.PAUSE_PREFIX)]
    await query.answer()
    await drop_buttons(update)
    if not await pause_for(update, context, length):
        await reply(update, context, texts.NOT_SUBSCRIBED)


async def stop_pause_week(update: Update, context: BotContext) -> None:
    """"Pause a week instead" under /stop's reply: reminders back on, paused for a week."""
    query = update.callback_query
    assert query is not None
    await drop_buttons(update)
    if await pause_for(update, context, timedelta(weeks=1)):
        await query.answer()
    else:
        await query.answer(await label(update, context, texts.BUTTON_EXPIRED))


async def resume_command(update: Update, context: BotContext) -> None:
    """/resume: reminders go on from the next future slot."""
    runtime = context.runtime
    assert update.effective_user is not None
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is None or user.status != UserStatus.PAUSED:
            plan = None
        else:
            plan = await resume(session, user, runtime.planner, now)
    if user is None:
        await reply(update, context, texts.NOT_SUBSCRIBED)
    elif plan is None:
        await reply(update, context, texts.RESUME_NOT_PAUSED)
    else:
        upcoming = [d for d in (plan.first_hydration, plan.next_checkin) if d is not None]
        next_label = (
            local_label(min(upcoming), plan.preferences.zone, now)
            if upcoming
            else runtime.catalog.render(texts.SETTINGS_NO_REMINDER, user.language)
        )
        await reply(update, context, texts.RESUME_DONE, next_reminder=next_label)


HANDLERS = [
    CommandHandler("pause", pause_command, filters=PRIVATE_COMMANDS),
    CommandHandler("resume", resume_command, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(pause_button, pattern=keyboards.PAUSE_PATTERN),
    CallbackQueryHandler(stop_pause_week, pattern=f"^{keyboards.STOP_PAUSE_WEEK}$"),
]
