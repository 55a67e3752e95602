"""Typed text, read in one place and in this order: words of distress, stop words, a time zone,
waking hours, then a pointer to /help. Nothing typed is stored or logged."""

from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from reminderbot import texts
from reminderbot.catalog import DEFAULT_LANGUAGE
from reminderbot.context import BotContext
from reminderbot.display import clock
from reminderbot.handlers.filters import PRIVATE_MESSAGES
from reminderbot.handlers.reply import language_of, reply
from reminderbot.handlers.stop import stop_reminders
from reminderbot.handlers.zone import typed_zone, zone_question_open
from reminderbot.preferences import Change, change_preferences
from reminderbot.schedule import WakingWindow
from reminderbot.subscriptions import find_user
from reminderbot.timeinput import parse_window
from reminderbot.typedtext import Intent, classify

_REPLIES = {
    Intent.EMERGENCY: texts.URGENT_EMERGENCY,
    Intent.SUPPORT: texts.URGENT_SUPPORT,
    Intent.HELP: texts.HELP,
}


async def typed_window(update: Update, context: BotContext, text: str) -> bool:
    """Waking hours typed as ``07:30-23:00``; False when the text is not a window or no user."""
    window = parse_window(text)
    if window is None or update.effective_user is None:
        return False
    runtime = context.runtime
    async with runtime.sessions.begin() as session:
        user = await find_user(session, update.effective_user.id)
        if user is None:
            return False
        await change_preferences(session, user, Change(window=WakingWindow(*window)),
                                 runtime.planner, runtime.clock.now())
    await reply(update, context, texts.SETTINGS_WINDOW_SET, waking_start=clock(window[0]),
                waking_end=clock(window[1]))
    return True


async def typed_text(update: Update, context: BotContext) -> None:
    """Answer what someone typed."""
    message = update.effective_message
    if message is None or not message.text:
        await reply(update, context, texts.UNKNOWN_TEXT)
        return
    text = message.text
    words = context.runtime.words
    lang = await language_of(update, context)
    intent = classify(text, words.get(lang, words[DEFAULT_LANGUAGE]), words[DEFAULT_LANGUAGE])
    if intent == Intent.STOP:
        await stop_reminders(update, context)
    elif intent is not None:
        await reply(update, context, _REPLIES[intent])
    elif await typed_zone(update, context, text) or await typed_window(update, context, text):
        return
    elif zone_question_open(context):
        await reply(update, context, texts.ZONE_NOT_UNDERSTOOD)
    else:
        await reply(update, context, texts.UNKNOWN_TEXT)


HANDLERS = [MessageHandler(PRIVATE_MESSAGES & ~filters.COMMAND, typed_text)]
