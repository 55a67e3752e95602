"""What handlers and the dispatcher share: settings, catalog, database sessions and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reminderbot.catalog import Catalog
from reminderbot.clock import Clock
from reminderbot.config import Settings
from reminderbot.preferences import Planner
from reminderbot.spread import SpreadPlan
from reminderbot.typedtext import WordLists

RUNTIME_KEY = "reminderbot.runtime"


@dataclass
class Runtime:
    """The bot's shared services, kept in ``application.bot_data``."""

    settings: Settings
    catalog: Catalog
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    words: dict[str, WordLists]  # typed-word lists by catalog language
    # The adaptive spread of the slots over capacity, kept fresh by capacity's job.
    spreads: SpreadPlan | None = None

    def zone(self, name: str | None) -> ZoneInfo:
        """A user's zone, or the operator's default when they have not set one."""
        return ZoneInfo(name or self.settings.default_timezone)

    @property
    def planner(self) -> Planner:
        """The operator's defaults that users' plans depend on."""
        return Planner(self.settings.default_timezone, self.settings.reminder_spread_minutes,
                       self.spreads)


def runtime_of(context: Any) -> Runtime:
    """The ``Runtime`` stored in a PTB callback context's ``bot_data``."""
    runtime = context.bot_data[RUNTIME_KEY]
    assert isinstance(runtime, Runtime)
    return runtime
