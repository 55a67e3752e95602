"""The ``reminderbot`` command: run the bot, try it, check a deployment, review the messages.

Exit status: 0 success, 1 failure, 2 bad usage or configuration. Errors are one line on
stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from reminderbot import texts
from reminderbot.catalog import DEFAULT_LANGUAGE, Catalog, CatalogError, load_catalog
from reminderbot.config import ConfigError, Settings, configuration_problems, load_settings
from reminderbot.htmltext import to_terminal
from reminderbot.logs import configure_logging
from reminderbot.messagelint import example_params, lint

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PROG = "reminderbot"
# `check` and `messages` report problems themselves; log lines would repeat them out of order.
QUIET = logging.ERROR

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """The command line asks for something that does not exist; exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _settings(level: int = logging.INFO) -> Settings:
    """Load the settings and start logging in the configured format."""
    settings = load_settings()
    configure_logging(level, settings.log_format)
    return settings


def _run(_args: argparse.Namespace) -> int:
    from reminderbot.app import build_application
    from reminderbot.shutdown import stop_on_signals

    settings = _settings()
    load_catalog(settings.messages_dir)
    settings.require_token()
    application = build_application(settings)
    if settings.served_port is not None:  # a webhook, or /healthz and /metrics beside polling
        from reminderbot.serving import ListenError, serve

        try:
            asyncio.run(serve(application, settings))
        except ListenError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        return EXIT_OK
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # the loop run_polling takes
    # SIGTERM: the dispatcher stops claiming first, so that the stop takes seconds.
    stop_on_signals(application, loop)
    # Updates sent while the bot was down are answered now: never drop pending updates.
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                            stop_signals=None)
    return EXIT_OK


def _migrate(_args: argparse.Namespace) -> int:
    from reminderbot.db.migrate import upgrade
    from reminderbot.db.session import make_engine

    settings = _settings()

    async def migrate() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    print(f"{PROG}: the database is up to date")
    return EXIT_OK


def _try(args: argparse.Namespace) -> int:
    from reminderbot.tryout import TryOptions, run_try

    # In `try` the terminal is the chat: only problems are logged there.
    settings = _settings(logging.WARNING)
    load_catalog(settings.messages_dir)
    options = TryOptions(
        timezone=args.timezone, lang=args.lang, keep_db=args.keep_db, start_at=args.start_at
    )
    return run_try(settings, options)


def _check(args: argparse.Namespace) -> int:
    from reminderbot.checks import run_checks

    problems = configuration_problems()
    if problems:
        for problem in problems:
            print(f"✗ configuration: {problem}")
        # Docker reads any status but 0 and 1 as reserved; a health check says 1.
        return EXIT_FAILURE if args.health else EXIT_USAGE
    settings = _settings(QUIET)
    lines = asyncio.run(run_checks(settings, health=args.health))
    for line in lines:
        print(line)
    failed = any(line.status.name == "FAIL" for line in lines)
    return EXIT_FAILURE if failed else EXIT_OK


def _lint(settings: Settings) -> int:
    catalog, problems = lint(settings.messages_dir)
    for problem in problems:
        print(f"✗ {problem}")
    if problems or catalog is None:
        return EXIT_FAILURE
    print(f"✓ messages are valid in {', '.join(catalog.languages)} "
          f"({len(texts.ALL_KEYS)} keys)")
    return EXIT_OK


def _list(catalog: Catalog) -> int:
    width = max(len(name) for name in texts.ALL_KEYS)
    for lang in catalog.languages:
        print(f"{lang}:")
        for name in sorted(texts.ALL_KEYS):
            key = texts.ALL_KEYS[name]
            entry = catalog.entry(key, lang)
            if lang != DEFAULT_LANGUAGE and entry is catalog.entry(key, DEFAULT_LANGUAGE):
                print(f"  {name:<{width}}  (missing: users get the {DEFAULT_LANGUAGE} text)")
            else:
                print(f"  {name:<{width}}  {entry.source}")
    return EXIT_OK


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _show(catalog: Catalog, name: str, lang: str) -> int:
    key = texts.ALL_KEYS.get(name)
    if key is None:
        raise UsageError(f"no message key {name!r}; `{PROG} messages` lists them")
    if lang not in catalog.languages:
        raise UsageError(f"no language {lang!r} in the catalog ({', '.join(catalog.languages)})")
    entry = catalog.entry(key, lang)
    if lang != DEFAULT_LANGUAGE and entry is catalog.entry(key, DEFAULT_LANGUAGE):
        print(f"{PROG}: {name} has no {lang} text; users get the {DEFAULT_LANGUAGE} one",
              file=sys.stderr)
    params = example_params(key)
    count = len(entry.variants)
    for number in range(count):
        if count > 1:
            print(f"{'' if number == 0 else chr(10)}── variant {number + 1} of {count} ──")
        print(to_terminal(catalog.render(key, lang, number, **params), color=_color()))
    return EXIT_OK


def _messages(args: argparse.Namespace) -> int:
    settings = _settings(QUIET)
    if args.lint:
        if args.action is not None:
            raise UsageError("--lint takes no further command")
        return _lint(settings)
    catalog = load_catalog(settings.messages_dir)
    if args.action == "show":
        return _show(catalog, args.key, args.lang)
    return _list(catalog)


def _check_messages(_args: argparse.Namespace) -> int:
    print(f"{PROG}: check-messages is deprecated and goes away in the next release; "
          f"use `{PROG} messages --lint`", file=sys.stderr)
    return _lint(_settings(QUIET))


def _stats(args: argparse.Namespace) -> int:
    from reminderbot.stats import StatsUnavailable, read_stats
    from reminderbot.statsreport import report, table

    settings = _settings(QUIET)
    try:
        stats = asyncio.run(read_stats(settings.database_url, datetime.now(UTC),
                                       by_source=args.by_source))
    except StatsUnavailable as exc:
        print(f"{PROG}: cannot count: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    document = report(stats)
    print(json.dumps(document, indent=2, ensure_ascii=False) if args.json else table(document))
    return EXIT_OK


def _announce(args: argparse.Namespace) -> int:
    from reminderbot.announcerun import AnnouncementError, run_announce

    try:
        return run_announce(_settings(QUIET), args.file, dry_run=args.dry_run)
    except AnnouncementError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _capacity(args: argparse.Namespace) -> int:
    from reminderbot.capacity import read_forecast
    from reminderbot.capacityreport import report, text
    from reminderbot.checks import check_database
    from reminderbot.db.session import make_engine, make_sessionmaker

    settings = _settings(QUIET)
    at = args.at or datetime.now(UTC)

    async def forecast() -> dict[str, object] | str:
        problems = [line for line in await check_database(settings.database_url)
                    if line.status.name != "OK"]
        if problems:
            return problems[0].text
        engine = make_engine(settings.database_url)
        try:
            found = await read_forecast(make_sessionmaker(engine), settings, at)
        finally:
            await engine.dispose()
        source = ("CAPACITY_LIMIT_PER_MINUTE" if settings.capacity_limit_per_minute is not None
                  else "Telegram's limit with paid broadcasts" if settings.telegram_paid_broadcast
                  else "Telegram's limit")
        return report(found, source)

    document = asyncio.run(forecast())
    if isinstance(document, str):
        print(f"{PROG}: cannot forecast: {document}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(text(document), end="")
    return EXIT_OK


def _utc_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time such as 2026-11-25T08:00") \
            from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"{value!r} is not an IANA time zone") from None
    return value


# name -> (handler, one line for `reminderbot --help`, longer description for its own --help)
COMMANDS: dict[str, tuple[Handler, str, str]] = {
    "run": (_run, "run the bot (long polling or a webhook)",
            "Run the bot until Ctrl-C or SIGTERM: long polling, or Telegram's webhook with "
            "WEBHOOK_URL and WEBHOOK_SECRET; /healthz and /metrics on HTTP_PORT (8080 with a "
            "webhook). Applies the database migrations first; needs TELEGRAM_BOT_TOKEN."),
    "try": (_try, "chat with the bot in this terminal, offline",
            "Chat with the real bot in this terminal against an offline Telegram stand-in. "
            "Type /time +3h to let time pass; /quit or Ctrl-D ends it."),
    "migrate": (_migrate, "apply database migrations and exit",
                "Apply the database migrations to DATABASE_URL and exit (`run` does this too)."),
    "check": (_check, "check configuration, database, messages and token",
              "Check the configuration, the database (reachable, migrations applied), the "
              "message catalog in every language and, when TELEGRAM_BOT_TOKEN is set, that "
              "Telegram knows the token. Exit 1 if a check failed, 2 if the configuration is "
              "invalid; warnings (!) do not fail."),
    "messages": (_messages, "list, show or lint what the bot says",
                 "Without arguments: every message key per language with its source section. "
                 "`show KEY` prints a message as a user sees it, with example values. "
                 "`--lint` checks the whole catalog and exits 1 on any problem."),
    "stats": (_stats, "usage in counts: users, reminders, check-in answers",
              "Usage in counts only, never a person: users by status; reminders sent, skipped "
              "and failed over the last 1, 7 and 30 days (UTC, today included) by kind; "
              "check-in answers of the last 30 days by answer. Any count under 5, zero "
              "included, shows as <5 so that no one in a small deployment can be singled out. "
              "Reads DATABASE_URL, changes nothing."),
    "announce": (_announce, "send an announcement to every opted-in user, once",
                 "Send FILE (Telegram HTML, checked like the message catalog, at most 4,096 "
                 "characters) to every opted-in user who is not paused, through the same rate "
                 "limiter as reminders, after them. Started again with the same file, it "
                 "resumes: nobody gets it twice. `--dry-run` prints the count and the text."),
    "capacity": (_capacity, "forecast the load: the busiest minutes against the limit",
                 "Forecast the reminders due in each minute of the next 24 hours (UTC) from the "
                 "schedule, against the send limit (Telegram's 30 a second, or "
                 "CAPACITY_LIMIT_PER_MINUTE): the busiest minutes, the headroom, which queues "
                 "would run late or be skipped as reminders are spread today, and how the "
                 "adaptive spread the bot applies stretches the slots over capacity. Reads "
                 "DATABASE_URL, changes nothing."),
    "check-messages": (_check_messages, "deprecated: use `messages --lint`",
                       "Deprecated alias of `reminderbot messages --lint`; goes away in the "
                       "next release."),
}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps each sub-command and its summary on one line."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.nargs == argparse.PARSER:
            # argparse measures sub-commands at the section's indent but prints them 2 deeper.
            self._action_max_length += 2


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    debug = _Parser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an error")
    top = _Parser(prog=PROG, description=__doc__, parents=[debug], formatter_class=_Formatter)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    commands = {}
    for name, (handler, summary, description) in COMMANDS.items():
        commands[name] = sub.add_parser(name, help=summary, description=description,
                                        parents=[debug])
        commands[name].set_defaults(handler=handler)
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
    commands["check"].add_argument(
        "--health", action="store_true",
        help="only the configuration and the database; exit 0 or 1 (for container health checks)",
    )
    stats = commands["stats"]
    stats.add_argument("--json", action="store_true", help="print the counts as JSON")
    stats.add_argument("--by-source", action="store_true",
                       help="add users by the partner link they came from (/start CODE)")
    capacity = commands["capacity"]
    capacity.add_argument("--json", action="store_true", help="print the forecast as JSON")
    capacity.add_argument("--at", type=_utc_time, metavar="ISO",
                          help="forecast from this time (UTC unless it says otherwise) instead "
                          "of now, e.g. 2026-11-25T08:00")
    announce = commands["announce"]
    announce.add_argument("file", metavar="FILE", type=Path,
                          help="the announcement, Telegram HTML (<b>, <i>, <a href>)")
    announce.add_argument("--dry-run", action="store_true",
                          help="print how many people it would reach and the text; send nothing")
    messages = commands["messages"]
    messages.add_argument("--lint", action="store_true",
                          help="check every message in every language; exit 1 on a problem")
    actions = messages.add_subparsers(dest="action", metavar="ACTION", title="actions")
    show = actions.add_parser("show", parents=[debug], help="print one message as a user sees it",
                              description="Print a message as a user sees it, placeholders "
                              "filled with example values; a rotating message shows every "
                              "variant.")
    show.add_argument("key", metavar="KEY", help="a message key, e.g. hydration.thanks")
    show.add_argument("--lang", default=DEFAULT_LANGUAGE, help="a catalog language, e.g. es")
    return top


def _fail(message: str, status: int, exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # ✓ and ✗ on a terminal that cannot show them
    handler: Handler = args.handler
    try:
        return handler(args)
    except (ConfigError, UsageError) as exc:
        return _fail(str(exc), EXIT_USAGE, exc, debug)
    except CatalogError as exc:
        return _fail(f"messages: {exc}", EXIT_USAGE, exc, debug)
    except InvalidToken as exc:
        return _fail("TELEGRAM_BOT_TOKEN was rejected by Telegram", EXIT_USAGE, exc, debug)
    except NetworkError as exc:
        return _fail(f"cannot reach Telegram at TELEGRAM_API_BASE_URL ({type(exc).__name__})",
                     EXIT_FAILURE, exc, debug)
    except (OperationalError, DBAPIError, OSError) as exc:
        return _fail(f"cannot use the database in DATABASE_URL ({type(exc).__name__})",
                     EXIT_FAILURE, exc, debug)
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:
        hint = "" if debug else "; run with --debug for the traceback"
        return _fail(f"failed: {type(exc).__name__}{hint}", EXIT_FAILURE, exc, debug)


if __name__ == "__main__":
    sys.exit(main())
