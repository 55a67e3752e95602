"""The typed callback context every handler receives."""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from reminderbot.runtime import RUNTIME_KEY, Runtime

UserData = dict[Any, Any]


class BotContext(CallbackContext[ExtBot[None], UserData, UserData, UserData]):
    """PTB's context with the bot's shared services as a typed attribute."""

    @property
    def runtime(self) -> Runtime:
        """Settings, catalog, database sessions and the clock."""
        runtime = self.bot_data[RUNTIME_KEY]
        assert isinstance(runtime, Runtime)
        return runtime


CONTEXT_TYPES: ContextTypes[BotContext, UserData, UserData, UserData] = ContextTypes(
    context=BotContext
)
