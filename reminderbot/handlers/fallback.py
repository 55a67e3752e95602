"""Guards before every handler, and the last resort: a kind pointer, never a crash."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from reminderbot import texts
from reminderbot.context import BotContext
from reminderbot.handlers.filters import GROUP_COMMANDS, PRIVATE_MESSAGES
from reminderbot.handlers.reply import label, reply
from reminderbot.handlers.zone import close_zone_question


async def unknown_message(update: Update, context: BotContext) -> None:
    """Any other message in a private chat (a sticker, an unknown command): point to /help."""
    await reply(update, context, texts.UNKNOWN_TEXT)


async def group_command(update: Update, context: BotContext) -> None:
    """A command in a group: the bot works in private chats only. Nothing is stored."""
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0] if message else ""
    _, _, addressee = command.partition("@")
    if addressee and addressee.lower() != context.bot.username.lower():
        return  # meant for another bot in the group
    await reply(update, context, texts.PRIVATE_ONLY)


async def stale_button(update: Update, context: BotContext) -> None:
    """A button the bot no longer knows (old message, forged data)."""
    assert update.callback_query is not None
    await update.callback_query.answer(await label(update, context, texts.BUTTON_EXPIRED))


def trusted_press(query: CallbackQuery, bot_id: int) -> bool:
    """Whether a press could come from a button the bot sent: it has data, it is on a message
    the bot sent (not an inline one) in a private chat, and it is pressed by the person that
    chat is with. The bot sends buttons nowhere else; what a button may do on that message is
    the handler's to check (prompts)."""
    message = query.message
    return (
        bool(query.data)
        and isinstance(message, Message)
        and message.chat.type == ChatType.PRIVATE
        and message.chat.id == query.from_user.id
        and (message.from_user is None or message.from_user.id == bot_id)
    )


async def untrusted_button(update: Update, context: BotContext) -> None:
    """Checked before every handler: a press that fails ``trusted_press`` (forged in a group,
    by someone else, without a message or without data) is answered "no longer active" and
    goes no further, so nothing is stored and nothing is sent anywhere."""
    query = update.callback_query
    if query is not None and not trusted_press(query, context.bot.id):
        await stale_button(update, context)
        raise ApplicationHandlerStop


async def command_sent(update: Update, context: BotContext) -> None:
    """Any command closes an open question (the zone question)."""
    close_zone_question(context)


# Checked before every other handler (one group: each takes a different kind of update).
GUARDS = [
    CallbackQueryHandler(untrusted_button),
    MessageHandler(PRIVATE_MESSAGES & filters.COMMAND, command_sent),
]

HANDLERS = [
    MessageHandler(GROUP_COMMANDS, group_command),
    MessageHandler(PRIVATE_MESSAGES, unknown_message),
    CallbackQueryHandler(stale_button),
]
