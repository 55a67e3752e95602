"""The check-in: its answer buttons, the red flags behind "Something else", the weekly
tolerance question, and /checkin."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.db.models import UserStatus
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import drop_buttons, language_of, replace, reply
from reminderbot.logbook import record_checkin, record_red_flag, record_tolerance
from reminderbot.subscriptions import find_user

# Someone who stopped keeps their history but stores nothing new.
_RECORDING = (UserStatus.ACTIVE, UserStatus.PAUSED)


async def answer(update: Update, context: BotContext) -> None:
    """A check-in answer, stored and answered; "Something else" opens the red flags instead."""
    query = update.callback_query
    assert query is not None and query.data is not None
    code = query.data.removeprefix(keyboards.CHECKIN_PREFIX)
    if code != "other":
        await _record_answer(update, context, code)
        return
    await query.answer()
    # Nothing is stored yet: the red flags take the place of the answers, in place.
    lang = await language_of(update, context)
    await replace(update, context, texts.CHECKIN_OTHER_QUESTION,
                  keyboards.red_flags(context.runtime.catalog, lang))


async def red_flag(update: Update, context: BotContext) -> None:
    """One of the red flags: the emergency text at once, or the guidance and the provider notes."""
    query = update.callback_query
    assert query is not None and query.data is not None
    code = query.data.removeprefix(keyboards.FLAG_PREFIX)
    if code == "other":  # "None of these": the plain "Something else" answer
        await _record_answer(update, context, code)
        return
    runtime = context.runtime
    assert update.effective_user is not None
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is not None and user.status in _RECORDING:
            await record_red_flag(session, user, code, runtime.clock.now())
    await query.answer()
    await drop_buttons(update)
    if code == "severe":
        await reply(update, context, texts.URGENT_EMERGENCY)
        return
    await reply(update, context, texts.RED_FLAG_REPLIES[code])
    await reply(update, context, texts.PROVIDER)


async def _record_answer(update: Update, context: BotContext, code: str) -> None:
    """Store the answer code and reply with its guidance (and a word on a repeated symptom)."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    repeated = None
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is not None and user.status in _RECORDING:
            repeated = await record_checkin(
                session, user, code, runtime.clock.now(),
                repeat_count=runtime.settings.symptom_repeat_count,
                repeat_window=runtime.settings.symptom_repeat_window,
            )
    await query.answer()
    await drop_buttons(update)
    # The guidance is given even to someone who stopped meanwhile: it is health information.
    await reply(update, context, texts.CHECKIN_REPLIES[code])
    if repeated is not None:
        lang = await language_of(update, context)
        symptom = runtime.catalog.render(texts.CHECKIN_BUTTONS[repeated.symptom], lang)
        await reply(update, context, texts.CHECKIN_REPEATED, symptom=symptom.lower(),
                    times=repeated.times, checkins=repeated.checkins)


async def tolerance_answer(update: Update, context: BotContext) -> None:
    """The weekly question: a yes gets the tolerance guidance and a word on a provider."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    code = query.data.removeprefix(keyboards.TOLERANCE_PREFIX)
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is not None and user.status in _RECORDING:
            await record_tolerance(session, user, code, runtime.clock.now())
    await query.answer()
    await drop_buttons(update)
    await reply(update, context, texts.TOLERANCE_REPLIES[code])


async def checkin_now(update: Update, context: BotContext) -> None:
    """/checkin: the check-in question, now."""
    lang = await language_of(update, context)
    await reply(update, context, texts.CHECKIN_QUESTION,
                keyboards.checkin(context.runtime.catalog, lang))


HANDLERS = [
    CommandHandler("checkin", checkin_now, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(answer, pattern=keyboards.CHECKIN_PATTERN),
    CallbackQueryHandler(red_flag, pattern=keyboards.FLAG_PATTERN),
    CallbackQueryHandler(tolerance_answer, pattern=keyboards.TOLERANCE_PATTERN),
]
