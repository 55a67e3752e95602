"""The ``reminderbot`` command: run, migrate, check-messages."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import InvalidToken

from reminderbot.catalog import CatalogError, load_catalog
from reminderbot.config import ConfigError, Settings, load_settings
from reminderbot.db.migrate import upgrade
from reminderbot.db.session import make_engine

EXIT_CONFIG = 2


def configure_logging() -> None:
    """Plain logs on stderr; the HTTP client's request lines are muted (they carry the token)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(message: str, status: int = EXIT_CONFIG) -> int:
    print(f"reminderbot: {message}", file=sys.stderr)
    return status


def _run(settings: Settings) -> int:
    from reminderbot.app import build_application

    settings.require_token()
    application = build_application(settings)
    # Updates sent while the bot was down are answered now: never drop pending updates.
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0


def _migrate(settings: Settings) -> int:
    async def migrate() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    print("reminderbot: the database is up to date")
    return 0


def _check_messages(settings: Settings) -> int:
    catalog = load_catalog(settings.messages_dir)
    print(f"reminderbot: messages are complete ({', '.join(catalog.languages)})")
    return 0


COMMANDS = {
    "run": (_run, "run the bot (long polling)"),
    "migrate": (_migrate, "apply database migrations and exit"),
    "check-messages": (_check_messages, "check the messages/ catalog and exit"),
}


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    top = argparse.ArgumentParser(prog="reminderbot", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = parser().parse_args(argv)
    configure_logging()
    try:
        settings = load_settings()
        if args.command in ("run", "check-messages"):
            load_catalog(settings.messages_dir)
        handler, _ = COMMANDS[args.command]
        return handler(settings)
    except ConfigError as exc:
        return _fail(str(exc))
    except CatalogError as exc:
        return _fail(f"messages: {exc}")
    except InvalidToken:
        return _fail("TELEGRAM_BOT_TOKEN was rejected by Telegram")
    except (OperationalError, DBAPIError, OSError) as exc:
        return _fail(f"cannot use the database in DATABASE_URL ({type(exc).__name__})", 1)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
