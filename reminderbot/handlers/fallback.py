"""Everything the other handlers do not take: a kind pointer, never a crash."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
)

from reminderbot import texts
from reminderbot.handlers.filters import GROUP_COMMANDS, PRIVATE_MESSAGES
from reminderbot.handlers.reply import language_of, reply
from reminderbot.runtime import runtime_of


async def unknown_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other message in a private chat: point to /help."""
    await reply(update, runtime_of(context), texts.UNKNOWN_TEXT)


async def group_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command in a group: the bot works in private chats only. Nothing is stored."""
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0] if message else ""
    _, _, addressee = command.partition("@")
    if addressee and addressee.lower() != context.bot.username.lower():
        return  # meant for another bot in the group
    await reply(update, runtime_of(context), texts.PRIVATE_ONLY)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button the bot no longer knows (old message, forged data)."""
    assert update.callback_query is not None
    label = runtime_of(context).catalog.label(texts.BUTTON_EXPIRED, language_of(update))
    await update.callback_query.answer(label)


async def empty_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press without data: PTB would hand it to every pattern handler, so stop it here."""
    query = update.callback_query
    if query is not None and not query.data:
        await stale_button(update, context)
        raise ApplicationHandlerStop


# Checked before every other handler.
GUARDS = [TypeHandler(Update, empty_button)]

HANDLERS = [
    MessageHandler(GROUP_COMMANDS, group_command),
    MessageHandler(PRIVATE_MESSAGES, unknown_message),
    CallbackQueryHandler(stale_button),
]
