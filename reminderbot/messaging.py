"""The one way to render and send a message to a user: their language, the catalog key.

Handlers (through ``handlers.reply``) and the dispatcher both come here, so a user's stored
language applies to everything the bot says, and their discreet setting to everything it sends
on its own (the dispatcher's audience is ``audience_of(user)``; a handler's answers are never
discreet, as the user just asked for them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reminderbot.catalog import Catalog
from reminderbot.db.models import User
from reminderbot.texts import Key, discreet_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Audience:
    """Who a message goes to and how it is worded for them."""

    chat_id: int
    language: str
    # Discreet mode: a key with a discreet wording is sent in that wording.
    discreet: bool = False


def audience_of(user: User) -> Audience:
    """A stored user's audience: their chat, their chosen language and their discreet setting."""
    return Audience(user.chat_id, user.language, bool(user.discreet))


def wording(audience: Audience, key: Key) -> Key:
    """The key whose text ``audience`` reads: the discreet one where there is one and it applies."""
    discreet = discreet_of(key) if audience.discreet else None
    return discreet if discreet is not None else key


def render(
    catalog: Catalog, audience: Audience, key: Key, variant: int = 0, /, **params: object
) -> str:
    """The text of ``key`` for ``audience``, as Telegram HTML."""
    return catalog.render(wording(audience, key), audience.language, variant, **params)


async def send(
    bot: Bot,
    catalog: Catalog,
    audience: Audience,
    key: Key,
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None,
    variant: int = 0,
    paid: bool = False,
    /,
    **params: object,
) -> Message:
    """Send ``key`` to ``audience``; Telegram errors propagate to the caller.

    ``paid``: a paid broadcast (``TELEGRAM_PAID_BROADCAST``), over Telegram's free limit.
    """
    text = render(catalog, audience, key, variant, **params)
    return await bot.send_message(
        audience.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup,
        allow_paid_broadcast=paid or None,
    )


async def send_html(bot: Bot, audience: Audience, text: str, /, *, paid: bool = False) -> Message:
    """Send an operator's own Telegram HTML (an announcement, checked when it was made);
    ``paid`` as for :func:`send`."""
    return await bot.send_message(
        audience.chat_id, text, parse_mode=ParseMode.HTML, allow_paid_broadcast=paid or None
    )


async def edit(
    bot: Bot,
    catalog: Catalog,
    audience: Audience,
    message_id: int,
    key: Key,
    markup: InlineKeyboardMarkup | None = None,
    /,
    **params: object,
) -> None:
    """Replace the text (and buttons) of a message the bot sent, in place."""
    text = render(catalog, audience, key, **params)
    try:
        await bot.edit_message_text(
            text,
            chat_id=audience.chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
    except BadRequest as exc:
        # A second tap on the same button asks for the same text: nothing to change.
        if "message is not modified" not in exc.message.lower():
            raise
