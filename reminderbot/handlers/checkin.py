"""The check-in: its answer buttons, the red flags behind "Something else", the weekly
tolerance question, and /checkin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.db.models import ScheduleKind, User, UserStatus
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import (
    drop_buttons,
    language_of,
    on_keyboard,
    pressed,
    refuse_press,
    replace,
    reply,
)
from reminderbot.logbook import record_checkin, record_red_flag, record_tolerance
from reminderbot.prompts import answer_prompt, prompt_open, record_prompt
from reminderbot.subscriptions import find_user

# Someone who stopped keeps their history but stores nothing new.
_RECORDING = (UserStatus.ACTIVE, UserStatus.PAUSED)


async def _counts(
    session: AsyncSession, update: Update, user: User | None, kind: str, now: datetime,
    *, mark: bool = True,
) -> bool:
    """Whether this press counts: on an open ``kind`` prompt sent to this user (marked answered
    with ``mark``, in the caller's transaction: it counts once). Someone who is not stored (who
    asked with /checkin, or erased their data) gets the guidance only, when the button really
    is on the message."""
    if user is None:
        return on_keyboard(update)
    if mark:
        return await answer_prompt(session, user.id, *pressed(update), (kind,), now)
    return await prompt_open(session, user.id, *pressed(update), (kind,), now)


async def answer(update: Update, context: BotContext) -> None:
    """A check-in answer, stored and answered; "Something else" opens the red flags instead."""
    query = update.callback_query
    assert query is not None and query.data is not None
    code = query.data.removeprefix(keyboards.CHECKIN_PREFIX)
    if code != "other":
        await _record_answer(update, context, code)
        return
    runtime = context.runtime
    assert update.effective_user is not None
    async with runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
        open_ = await _counts(session, update, user, ScheduleKind.CHECKIN, runtime.clock.now(),
                              mark=False)
    if not open_:
        await refuse_press(update, context)
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
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        counts = await _counts(session, update, user, ScheduleKind.CHECKIN, now)
        if counts and user is not None and user.status in _RECORDING:
            await record_red_flag(session, user, code, now)
    if not counts:
        await refuse_press(update, context)
        return
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
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        counts = await _counts(session, update, user, ScheduleKind.CHECKIN, now)
        if counts and user is not None and user.status in _RECORDING:
            repeated = await record_checkin(
                session, user, code, now,
                repeat_count=runtime.settings.symptom_repeat_count,
                repeat_window=runtime.settings.symptom_repeat_window,
            )
    if not counts:
        await refuse_press(update, context)
        return
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
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        counts = await _counts(session, update, user, ScheduleKind.TOLERANCE, now)
        if counts and user is not None and user.status in _RECORDING:
            await record_tolerance(session, user, code, now)
    if not counts:
        await refuse_press(update, context)
        return
    await query.answer()
    await drop_buttons(update)
    await reply(update, context, texts.TOLERANCE_REPLIES[code])


async def checkin_now(update: Update, context: BotContext) -> None:
    """/checkin: the check-in question, now (its answers count like a scheduled one's)."""
    runtime = context.runtime
    lang = await language_of(update, context)
    question = await reply(update, context, texts.CHECKIN_QUESTION,
                           keyboards.checkin(runtime.catalog, lang))
    if question is None or update.effective_user is None:
        return
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is not None:
            await record_prompt(session, user.id, question.chat_id, question.message_id,
                                ScheduleKind.CHECKIN, runtime.clock.now())


HANDLERS = [
    CommandHandler("checkin", checkin_now, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(answer, pattern=keyboards.CHECKIN_PATTERN),
    CallbackQueryHandler(red_flag, pattern=keyboards.FLAG_PATTERN),
    CallbackQueryHandler(tolerance_answer, pattern=keyboards.TOLERANCE_PATTERN),
]
