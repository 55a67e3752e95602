"""How handlers answer: catalog text in the user's language, through ``messaging``."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, Update
from telegram.error import BadRequest

from reminderbot import texts
from reminderbot.context import BotContext
from reminderbot.messaging import Audience, edit, send
from reminderbot.subscriptions import find_user
from reminderbot.texts import Key

_AUDIENCE = "reminderbot.audience"


def telegram_language(update: Update, context: BotContext) -> str:
    """The catalog language for the Telegram language of whoever sent the update."""
    user = update.effective_user
    return context.runtime.catalog.resolve_language(user.language_code if user else None)


async def audience_for(update: Update, context: BotContext) -> Audience | None:
    """Who the answer goes to: the stored user's language, else their Telegram language.

    Looked up once per update (the context lives as long as the update).
    """
    cached = context.__dict__.get(_AUDIENCE)
    if isinstance(cached, Audience):
        return cached
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    language = telegram_language(update, context)
    if user is not None and chat.type == "private":
        async with context.runtime.sessions() as session:
            stored = await find_user(session, user.id)
        if stored is not None:
            language = stored.language
    audience = Audience(chat.id, language)
    context.__dict__[_AUDIENCE] = audience
    return audience


def forget_audience(context: BotContext) -> None:
    """The user's language changed (or their data was erased): look it up again."""
    context.__dict__.pop(_AUDIENCE, None)


async def language_of(update: Update, context: BotContext) -> str:
    """The language answers to this update are written in."""
    audience = await audience_for(update, context)
    return audience.language if audience else telegram_language(update, context)


async def reply(
    update: Update,
    context: BotContext,
    key: Key,
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None,
    /,
    **params: object,
) -> Message | None:
    """Send ``key`` to the chat the update came from."""
    audience = await audience_for(update, context)
    if audience is None:
        return None
    return await send(context.bot, context.runtime.catalog, audience, key, markup, **params)


async def replace(
    update: Update,
    context: BotContext,
    key: Key,
    markup: InlineKeyboardMarkup | None = None,
    /,
    **params: object,
) -> None:
    """Edit the message whose button was pressed to show ``key`` (a menu moving in place)."""
    query, audience = update.callback_query, await audience_for(update, context)
    if query is None or audience is None or not isinstance(query.message, Message):
        return
    await edit(
        context.bot, context.runtime.catalog, audience, query.message.message_id, key, markup,
        **params,
    )


async def label(update: Update, context: BotContext, key: Key, /, **params: object) -> str:
    """A short plain text (a pop-up answer to a button) in the user's language."""
    return context.runtime.catalog.render(key, await language_of(update, context), **params)


def pressed(update: Update) -> tuple[int, int]:
    """The chat and message id of the message whose button was pressed.

    Every press that reaches a handler has one (``fallback.untrusted_button`` stops the rest).
    """
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    return query.message.chat.id, query.message.message_id


def on_keyboard(update: Update) -> bool:
    """Whether the pressed data is a button of the message as it is now (Telegram sends the
    message with the press; a forged press can carry any data)."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return False
    markup = query.message.reply_markup
    rows = markup.inline_keyboard if markup is not None else ()
    return any(button.callback_data == query.data for row in rows for button in row)


async def drop_buttons(update: Update) -> None:
    """Remove the buttons from the message whose button was pressed (so it can't count twice)."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.reply_markup:
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except BadRequest as exc:
            # A double tap: the first press already took them away.
            if "message is not modified" not in exc.message.lower():
                raise


async def refuse_press(update: Update, context: BotContext) -> None:
    """A press that counts for nothing: the "no longer active" pop-up. A button that really is
    on the message (an old reminder, say) goes away; a forged press leaves the message as is."""
    query = update.callback_query
    assert query is not None
    await query.answer(await label(update, context, texts.BUTTON_EXPIRED))
    if on_keyboard(update):
        await drop_buttons(update)
