"""/start and the consent buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.context import BotContext
from reminderbot.db.models import UserStatus
from reminderbot.display import plan_params
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import (
    drop_buttons,
    forget_audience,
    label,
    language_of,
    replace,
    reply,
    telegram_language,
)
from reminderbot.handlers.zone import ask_for_zone
from reminderbot.messaging import Audience
from reminderbot.partners import start_parameter
from reminderbot.preferences import Change, change_preferences
from reminderbot.subscriptions import find_user, opt_in


async def start(update: Update, context: BotContext) -> None:
    """Welcome; ask for consent, or offer to resume after a /stop."""
    runtime = context.runtime
    assert update.effective_user is not None
    async with runtime.sessions() as session:
        user = await find_user(session, update.effective_user.id)
    lang = await language_of(update, context)
    if user is None:
        # A partner's deep link (t.me/<bot>?start=CODE): the code waits in the "yes" button.
        source = start_parameter(context.args)
        markup = keyboards.consent(runtime.catalog, lang, source=source)
        await reply(update, context, texts.WELCOME, markup)
    elif user.status == UserStatus.STOPPED:
        markup = keyboards.consent(runtime.catalog, lang, resume=True)
        await reply(update, context, texts.WELCOME_BACK, markup)
    else:
        await reply(update, context, texts.WELCOME_ACTIVE)


async def consent_yes(update: Update, context: BotContext) -> None:
    """Turn reminders on and say when the first ones come; ask for the zone if unknown."""
    runtime = context.runtime
    query, tg_user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and tg_user is not None and chat is not None
    now = runtime.clock.now()
    async with runtime.sessions.begin() as session:
        first_time = await find_user(session, tg_user.id) is None
        plan = await opt_in(
            session,
            telegram_user_id=tg_user.id,
            chat_id=chat.id,
            language=telegram_language(update, context),
            now=now,
            planner=runtime.planner,
            source=keyboards.consent_source(query.data),
        )
    forget_audience(context)
    await query.answer()
    await drop_buttons(update)
    audience = Audience(chat.id, plan.preferences.language)
    await reply(update, context, texts.CONSENT_DONE,
                **plan_params(runtime.catalog, audience.language, plan, now))
    if plan.preferences.zone_is_default:
        await ask_for_zone(update, context)
    if first_time:
        await reply(update, context, texts.DISCREET_OFFER,
                    keyboards.discreet_offer(runtime.catalog, audience.language))


async def discreet_chosen(update: Update, context: BotContext) -> None:
    """The answer to the discreet-mode offer: stored, and the offer turns into what was chosen."""
    runtime = context.runtime
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    on = query.data == keyboards.DISCREET_PREFIX + "on"
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is None:
            await query.answer(await label(update, context, texts.BUTTON_EXPIRED))
            return
        await change_preferences(session, user, Change(discreet=on), runtime.planner,
                                 runtime.clock.now())
    await query.answer()
    await replace(update, context, texts.DISCREET_ON if on else texts.DISCREET_OFF)


async def consent_no(update: Update, context: BotContext) -> None:
    """Information only: nothing is stored."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await drop_buttons(update)
    await reply(update, context, texts.CONSENT_DECLINED)


HANDLERS = [
    CommandHandler("start", start, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(consent_yes, pattern=keyboards.CONSENT_YES_PATTERN),
    CallbackQueryHandler(consent_no, pattern=f"^{keyboards.CONSENT_NO}$"),
    CallbackQueryHandler(discreet_chosen, pattern=keyboards.DISCREET_PATTERN),
]
