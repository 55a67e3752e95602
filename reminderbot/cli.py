"""The ``reminderbot`` command: run, try, migrate, check-messages."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from reminderbot.catalog import CatalogError, load_catalog
from reminderbot.config import ConfigError, Settings, load_settings
from reminderbot.db.migrate import upgrade
from reminderbot.db.session import make_engine

EXIT_CONFIG = 2


def _not_a_startup_abort(record: logging.LogRecord) -> bool:
    # PTB logs a traceback when its start-up retry loop gives up; `main` says it in one line.
    return not (record.name.startswith("telegram.ext") and "Aborting" in str(record.msg))


def configure_logging(level: int = logging.INFO) -> None:
    """Plain logs on stderr; the HTTP client's request lines are muted (they carry the token)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_a_startup_abort)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(message: str, status: int = EXIT_CONFIG) -> int:
    print(f"reminderbot: {message}", file=sys.stderr)
    return status


def _run(settings: Settings, _args: argparse.Namespace) -> int:
    from reminderbot.app import build_application

    settings.require_token()
    application = build_application(settings)
    # Updates sent while the bot was down are answered now: never drop pending updates.
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    async def migrate() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    print("reminderbot: the database is up to date")
    return 0


def _check_messages(settings: Settings, _args: argparse.Namespace) -> int:
    catalog = load_catalog(settings.messages_dir)
    print(f"reminderbot: messages are complete ({', '.join(catalog.languages)})")
    return 0


def _try(settings: Settings, args: argparse.Namespace) -> int:
    from reminderbot.tryout import TryOptions, run_try

    options = TryOptions(
        timezone=args.timezone, lang=args.lang, keep_db=args.keep_db, start_at=args.start_at
    )
    return run_try(settings, options)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"{value!r} is not an IANA time zone") from None
    return value


COMMANDS = {
    "run": (_run, "run the bot (long polling)"),
    "try": (_try, "chat with the bot in this terminal: offline, no token needed"),
    "migrate": (_migrate, "apply database migrations and exit"),
    "check-messages": (_check_messages, "check the messages/ catalog and exit"),
}


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    top = argparse.ArgumentParser(prog="reminderbot", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    commands = {name: sub.add_parser(name, help=text) for name, (_, text) in COMMANDS.items()}
    trying = commands["try"]
    trying.add_argument("--timezone", type=_zone, help="your time zone, e.g. Europe/Berlin")
    trying.add_argument("--lang", help="your Telegram language code, e.g. es")
    trying.add_argument(
        "--keep-db",
        type=Path,
        metavar="PATH",
        help="keep the SQLite database at PATH instead of deleting it",
    )
    trying.add_argument(
        "--start-at",
        type=datetime.fromisoformat,
        metavar="ISO",
        help="start the simulated clock here (local time), e.g. 2026-11-25T08:30",
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = parser().parse_args(argv)
    # In `try` the terminal is the chat: only problems are logged there.
    configure_logging(logging.WARNING if args.command == "try" else logging.INFO)
    try:
        settings = load_settings()
        if args.command in ("run", "try", "check-messages"):
            load_catalog(settings.messages_dir)
        handler, _ = COMMANDS[args.command]
        return handler(settings, args)
    except ConfigError as exc:
        return _fail(str(exc))
    except CatalogError as exc:
        return _fail(f"messages: {exc}")
    except InvalidToken:
        return _fail("TELEGRAM_BOT_TOKEN was rejected by Telegram")
    except NetworkError as exc:
        return _fail(f"cannot reach Telegram at TELEGRAM_API_BASE_URL ({type(exc).__name__})", 1)
    except (OperationalError, DBAPIError, OSError) as exc:
        return _fail(f"cannot use the database in DATABASE_URL ({type(exc).__name__})", 1)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
