"""What ``reminderbot check`` looks at: configuration, database, migrations, messages, Telegram.

Each check returns ``CheckLine``s; the CLI prints one per line. Nothing here prints a password
or the bot token, and nothing writes to the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from reminderbot.catalog import Catalog
from reminderbot.config import Settings
from reminderbot.db.migrate import alembic_config
from reminderbot.emergency import EMERGENCY_FILE
from reminderbot.messagelint import lint
from reminderbot.ratelimit import OVERALL_PER_SECOND
from reminderbot.sharedbudget import SharedBudget

DATABASE_TIMEOUT = 5.0  # seconds to connect and read the migration state
TELEGRAM_TIMEOUT = 10.0  # seconds for getMe
EXAMPLE_TOKEN = "123456789:replace-with-the-token-from-BotFather"  # as in .env.example


class Status(Enum):
    """How a check went; the value is the mark printed before its line."""

    OK = "✓"
    FAIL = "✗"
    WARN = "!"


@dataclass(frozen=True)
class CheckLine:
    """One printed line of ``reminderbot check``."""

    status: Status
    text: str

    def __str__(self) -> str:
        return f"{self.status.value} {self.text}"


def database_name(url: str) -> str:
    """How to name the database in ``url`` to an operator: host:port/db or the SQLite path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {_sqlite_path(parsed)}"
    port = parsed.port or 5432
    return f"PostgreSQL at {parsed.host or 'localhost'}:{port}/{parsed.database or ''}"


def _sqlite_path(parsed: URL) -> Path:
    return Path(parsed.database or "").expanduser().resolve()


def _reason(exc: BaseException, secret: str | None) -> str:
    """A one-line reason for a failed connection, with any password blanked out."""
    inner: BaseException = exc
    while isinstance(inner, DBAPIError) and inner.orig is not None:
        inner = inner.orig
    if isinstance(inner, TimeoutError):
        text = f"no answer within {DATABASE_TIMEOUT:g} s"
    elif isinstance(inner, OSError) and inner.strerror:
        text = inner.strerror
    else:
        first = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
        text = f"{type(inner).__name__}: {first}" if first else type(inner).__name__
    return text.replace(secret, "***") if secret else text


def _revision_lines(connection: Connection) -> list[CheckLine]:
    script = ScriptDirectory.from_config(alembic_config())
    heads = tuple(script.get_heads())
    current = tuple(MigrationContext.configure(connection).get_current_heads())
    if set(current) == set(heads):
        return [CheckLine(Status.OK, f"database schema is current (revision {', '.join(heads)})")]
    try:
        behind = len(list(script.iterate_revisions(heads, current or "base")))
    except RevisionError:
        return [CheckLine(Status.FAIL, f"database is at revision {', '.join(current)}, which this "
                          "version of reminderbot does not know (was it made by a newer one?)")]
    return [CheckLine(Status.WARN, f"database is {behind} migration{'s' * (behind != 1)} behind; "
                      "`reminderbot migrate` (or `run`) applies them")]


async def check_database(url: str) -> list[CheckLine]:
    """Reachable, and how far its migrations are; never creates or changes anything."""
    parsed = make_url(url)
    name = database_name(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = _sqlite_path(parsed)
        if not path.parent.is_dir():
            return [CheckLine(Status.FAIL, f"the folder of the {name} does not exist")]
        if not path.exists():
            return [CheckLine(Status.WARN, f"the {name} does not exist yet; `reminderbot migrate` "
                              "(or `run`) creates it")]
    engine = create_async_engine(url, connect_args={"timeout": DATABASE_TIMEOUT})
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT * 2):
            async with engine.connect() as connection:
                states = await connection.run_sync(_revision_lines)
    except Exception as exc:  # any driver error (refused, auth, no such database) is the answer
        reason = _reason(exc, parsed.password)
        return [CheckLine(Status.FAIL, f"cannot connect to the {name}: {reason}")]
    finally:
        await engine.dispose()
    return [CheckLine(Status.OK, f"the {name} is reachable"), *states]


def check_catalog(settings: Settings) -> tuple[Catalog | None, list[CheckLine]]:
    """The catalog loads and passes the lint in every language."""
    catalog, problems = lint(settings.messages_dir)
    if not problems and catalog is not None:
        return catalog, [CheckLine(Status.OK, "message catalog is valid in "
                                   f"{', '.join(catalog.languages)}")]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return catalog, [CheckLine(Status.FAIL, f"message catalog: {problems[0]}{more}; "
                               "`reminderbot messages --lint` lists every problem")]


async def check_telegram(settings: Settings) -> list[CheckLine]:
    """``getMe`` answers for the token; names the bot. Nothing when no token is set."""
    token = settings.telegram_bot_token
    if not token or token == EXAMPLE_TOKEN:
        return []
    request = HTTPXRequest(connect_timeout=TELEGRAM_TIMEOUT, read_timeout=TELEGRAM_TIMEOUT)
    bot = Bot(token, base_url=settings.telegram_api_base_url, request=request)
    where = api_host(settings.telegram_api_base_url)
    try:
        async with bot:
            username = bot.username
    except InvalidToken:
        return [CheckLine(Status.FAIL, f"Telegram ({where}) rejected TELEGRAM_BOT_TOKEN")]
    except NetworkError as exc:
        reason = str(exc).replace(token, "***") or type(exc).__name__
        return [CheckLine(Status.FAIL, f"cannot reach Telegram at {where} ({reason})")]
    except TelegramError as exc:
        return [CheckLine(Status.FAIL, f"Telegram ({where}) refused getMe ({type(exc).__name__})")]
    return [CheckLine(Status.OK, f"Telegram answers: the token belongs to @{username}")]


async def check_redis(settings: Settings) -> list[CheckLine]:
    """With ``REDIS_URL``: whether the replicas' shared Telegram budget answers."""
    if not settings.redis_url:
        return []
    url = make_url(settings.redis_url.replace("rediss://", "redis://", 1))
    where = f"{url.host or 'localhost'}:{url.port or 6379}"  # never the password
    budget = SharedBudget(settings.redis_url, bot_id="check", per_second=OVERALL_PER_SECOND)
    try:
        answers = await asyncio.wait_for(budget.reachable(), 5)
    except TimeoutError:
        answers = False
    if answers:
        return [CheckLine(Status.OK, f"Redis at {where} answers: the replicas share one "
                                     "Telegram budget")]
    return [CheckLine(Status.FAIL, f"cannot reach Redis at {where} (REDIS_URL); without it "
                                   "each replica sends within its own limits")]


def api_host(base_url: str) -> str:
    """The scheme and host of the Bot API base URL, e.g. ``https://api.telegram.org``."""
    scheme, _, rest = base_url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def operator_warnings(settings: Settings, catalog: Catalog | None) -> list[str]:
    """What an operator should still fill in: shown as warnings, never a failure.

    Extend this when a new setting has a default that should not reach production.
    """
    warnings: list[str] = []
    if catalog is not None:
        unfilled = [lang for lang in catalog.languages
                    if lang in catalog.emergency and not catalog.emergency[lang].filled_in]
        if unfilled:
            warnings.append(f"messages/{EMERGENCY_FILE} has no emergency number for "
                            f"{', '.join(unfilled)}: users are told to call \"your local "
                            "emergency number\"; put in your region's emergency and "
                            "poison-centre numbers")
    if settings.telegram_bot_token == EXAMPLE_TOKEN:
        warnings.append("TELEGRAM_BOT_TOKEN is still the example from .env.example: put the "
                        "token from @BotFather there")
    if not settings.telegram_bot_token:
        warnings.append("TELEGRAM_BOT_TOKEN is not set: `reminderbot run` needs the token from "
                        "@BotFather (`reminderbot try` does not)")
    return warnings


async def run_checks(settings: Settings, *, health: bool = False) -> list[CheckLine]:
    """Every check in order; with ``health``, only what a container health check needs."""
    lines = [CheckLine(Status.OK, "configuration is valid")]
    try:
        lines += await check_database(settings.database_url)
    except ArgumentError:  # the validator let it through; the error text would show a password
        lines.append(CheckLine(Status.FAIL, "DATABASE_URL cannot be parsed as a database URL"))
    if health:
        return lines
    lines += await check_redis(settings)
    catalog, catalog_lines = check_catalog(settings)
    lines += catalog_lines
    lines += await check_telegram(settings)
    lines += [CheckLine(Status.WARN, text) for text in operator_warnings(settings, catalog)]
    return lines
