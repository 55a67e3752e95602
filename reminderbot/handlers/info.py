"""/info, /sideeffects, /provider and /help: guidance any time, for anyone, nothing stored."""

from __future__ import annotations

from telegram import BotCommand, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from reminderbot import keyboards, texts
from reminderbot.catalog import Catalog
from reminderbot.context import BotContext
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import language_of, reply

# The command menu Telegram shows, in the order of /help.
COMMANDS = (
    ("start", texts.COMMAND_START),
    ("settings", texts.COMMAND_SETTINGS),
    ("checkin", texts.COMMAND_CHECKIN),
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


async def info(update: Update, context: BotContext) -> None:
    """What kratom is, tolerance, side effects, when to see a provider."""
    markup = keyboards.info(context.runtime.catalog, await language_of(update, context))
    await reply(update, context, texts.INFO, markup)


async def sideeffects(update: Update, context: BotContext) -> None:
    """Side effects and what helps."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await reply(update, context, texts.SIDEEFFECTS)


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
    CallbackQueryHandler(sideeffects, pattern=f"^{keyboards.SHOW_SIDEEFFECTS}$"),
]
