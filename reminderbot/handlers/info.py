"""/info, /sideeffects and /help: guidance any time, for anyone, nothing stored."""

from __future__ import annotations

from telegram import BotCommand, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from reminderbot import keyboards, texts
from reminderbot.catalog import Catalog
from reminderbot.handlers.filters import PRIVATE_COMMANDS
from reminderbot.handlers.reply import language_of, reply
from reminderbot.runtime import runtime_of

# The command menu Telegram shows, in the order of /help.
COMMANDS = (
    ("start", texts.COMMAND_START),
    ("info", texts.COMMAND_INFO),
    ("sideeffects", texts.COMMAND_SIDEEFFECTS),
    ("help", texts.COMMAND_HELP),
    ("stop", texts.COMMAND_STOP),
)


def bot_commands(catalog: Catalog, language: str | None = None) -> list[BotCommand]:
    """The command list registered with Telegram (``set_my_commands``)."""
    return [BotCommand(name, catalog.label(key, language)) for name, key in COMMANDS]


async def info(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What kratom is, tolerance, side effects, when to see a provider."""
    runtime = runtime_of(context)
    markup = keyboards.info(runtime.catalog, language_of(update))
    await reply(update, runtime, texts.INFO, markup)


async def sideeffects(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Side effects and what helps."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await reply(update, runtime_of(context), texts.SIDEEFFECTS)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every command, one line each."""
    await reply(update, runtime_of(context), texts.HELP)


HANDLERS = [
    CommandHandler("info", info, filters=PRIVATE_COMMANDS),
    CommandHandler("sideeffects", sideeffects, filters=PRIVATE_COMMANDS),
    CommandHandler("help", help_command, filters=PRIVATE_COMMANDS),
    CallbackQueryHandler(sideeffects, pattern=f"^{keyboards.SHOW_SIDEEFFECTS}$"),
]
