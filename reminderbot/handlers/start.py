"""/start and the consent buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from reminderbot import keyboards, texts
from reminderbot.db.models import UserStatus
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import drop_buttons, language_of, reply
from reminderbot.runtime import runtime_of
from reminderbot.subscriptions import find_user, first_reminder_label, opt_in


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome; ask for consent, or offer to resume after a /stop."""
    runtime = runtime_of(context)
    assert update.effective_user is not None
    async with runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
    lang = language_of(update)
    if user is None:
        await reply(update, runtime, texts.WELCOME, keyboards.consent(runtime.catalog, lang))
    elif user.status == UserStatus.ACTIVE:
        await reply(update, runtime, texts.WELCOME_ACTIVE)
    else:
        markup = keyboards.consent(runtime.catalog, lang, resume=True)
        await reply(update, runtime, texts.WELCOME_BACK, markup)


async def consent_yes(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Turn reminders on and say when the first ones come."""
    runtime = runtime_of(context)
    query, tg_user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and tg_user is not None and chat is not None
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        plan = await opt_in(
            session,
            telegram_user_id=tg_user.id,
            chat_id=chat.id,
            language_code=tg_user.language_code,
            now=now,
            default_zone=runtime.settings.default_timezone,
            spread_minutes=runtime.settings.reminder_spread_minutes,
        )
    await query.answer()
    await drop_buttons(update)
    await reply(
        update,
        runtime,
        texts.CONSENT_DONE,
        first_hydration=first_reminder_label(plan.first_hydration, plan.zone, now),
        checkin_time=plan.checkin_at.strftime("%H:%M"),
        timezone=plan.zone.key,
        every_hours=plan.every_hours,
        waking_start=plan.window.start.strftime("%H:%M"),
        waking_end=plan.window.end.strftime("%H:%M"),
    )


async def consent_no(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Information only: nothing is stored."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await drop_buttons(update)
    await reply(update, runtime_of(context), texts.CONSENT_DECLINED)


HANDLERS = [
    CommandHandler("start", start, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(consent_yes, pattern=f"^{keyboards.CONSENT_YES}$"),
    CallbackQueryHandler(consent_no, pattern=f"^{keyboards.CONSENT_NO}$"),
]
