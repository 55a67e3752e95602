"""How handlers answer: catalog text in the user's language, Telegram HTML."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from reminderbot.runtime import Runtime
from reminderbot.texts import Key


def language_of(update: Update) -> str | None:
    """The Telegram language code of whoever sent the update."""
    user = update.effective_user
    return user.language_code if user else None


async def reply(
    update: Update,
    runtime: Runtime,
    key: Key,
    markup: InlineKeyboardMarkup | None = None,
    **params: object,
) -> None:
    """Send ``key`` to the chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        return
    text = runtime.catalog.render(key, language_of(update), **params)  # type: ignore[arg-type]
    await chat.send_message(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def drop_buttons(update: Update) -> None:
    """Remove the buttons from the message whose button was pressed (so it can't count twice)."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.reply_markup:
        await query.edit_message_reply_markup(reply_markup=None)
