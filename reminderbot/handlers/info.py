"""/info, /sideeffects, /provider and /help: guidance any time, for anyone, nothing stored.

/info and /sideeffects open one message whose buttons turn it, in place, to the other pages
(side effects, what helps, tolerance, when to see a provider): each page fits on a phone.
"""

from __future__ import annotations

from telegram import BotCommand, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.catalog import Catalog
from reminderbot.context import BotContext
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import language_of, replace, reply
from reminderbot.texts import Key

# The command menu Telegram shows, in the order of /help.
COMMANDS = (
    ("start", texts.COMMAND_START),
    ("settings", texts.COMMAND_SETTINGS),
    ("checkin", texts.COMMAND_CHECKIN),
    ("took", texts.COMMAND_TOOK),
    ("history", texts.COMMAND_HISTORY),
    ("pause", texts.COMMAND_PAUSE),
    ("resume", texts.COMMAND_RESUME),
    ("stop", texts.COMMAND_STOP),
    ("info", texts.COMMAND_INFO),
    ("sideeffects", texts.COMMAND_SIDEEFFECTS),
    ("provider", texts.COMMAND_PROVIDER),
    ("timezone", texts.COMMAND_TIMEZONE),
    ("mydata", texts.COMMAND_MYDATA),
    ("delete", texts.COMMAND_DELETE),
    ("help", texts.COMMAND_HELP),
)


def bot_commands(catalog: Catalog, language: str | None = None) -> list[BotCommand]:
    """The command list registered with Telegram (``set_my_commands``) for one language."""
    return [BotCommand(name, catalog.label(key, language)) for name, key in COMMANDS]


# The text of each page a "show:<page>" button turns the message to.
PAGES: dict[str, Key] = {
    "info": texts.INFO,
    "sideeffects": texts.SIDEEFFECTS,
    "helps": texts.SIDEEFFECTS_WHAT_HELPS,
    "tolerance": texts.INFO_TOLERANCE,
    "gethelp": texts.INFO_GET_HELP,
}


async def _first_page(update: Update, context: BotContext, page: str) -> None:
    markup = keyboards.info_pages(context.runtime.catalog, await language_of(update, context),
                                  page)
    await reply(update, context, PAGES[page], markup)


async def info(update: Update, context: BotContext) -> None:
    """What kratom is, in short; the buttons lead to the rest."""
    await _first_page(update, context, "info")


async def sideeffects(update: Update, context: BotContext) -> None:
    """The possible side effects, in short; the buttons lead to what helps and the rest."""
    await _first_page(update, context, "sideeffects")


async def show_page(update: Update, context: BotContext) -> None:
    """A page button: the same message now shows that page, with buttons to the others."""
    query = update.callback_query
    assert query is not None and query.data is not None
    page = query.data.removeprefix(keyboards.SHOW_PREFIX)
    await query.answer()
    markup = keyboards.info_pages(context.runtime.catalog, await language_of(update, context),
                                  page)
    await replace(update, context, PAGES[page], markup)


async def provider(update: Update, context: BotContext) -> None:
    """How to prepare for a talk with a healthcare provider."""
    await reply(update, context, texts.PROVIDER)


async def help_command(update: Update, context: BotContext) -> None:
    """Every command, one line each, and where to get urgent help."""
    await reply(update, context, texts.HELP)


HANDLERS = [
    CommandHandler("info", info, filters=PRIVATE_COMMANDS),
    CommandHandler("sideeffects", sideeffects, filters=PRIVATE_COMMANDS),
    CommandHandler("provider", provider, filters=PRIVATE_COMMANDS),
    CommandHandler("help", help_command, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(show_page, pattern=keyboards.SHOW_PATTERN),
]
