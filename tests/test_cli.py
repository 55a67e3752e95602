"""The `reminderbot` command as an operator runs it: help, exit codes, `check`, `messages`."""

from __future__ import annotations

import asyncio
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from alembic.script import ScriptDirectory

from reminderbot import texts
from reminderbot.cli import COMMANDS
from reminderbot.config import setting_names
from reminderbot.db.migrate import alembic_config
from reminderbot.htmltext import to_terminal
from reminderbot.messagelint import EXAMPLES, lint
from reminderbot.testing.botapi import BotAPIStandIn
from tests.test_operator import GOOD_TOKEN, ROOT, reminderbot

HEADS = ScriptDirectory.from_config(alembic_config()).get_heads()
MIGRATIONS = len(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
NO_TOKEN = ("! TELEGRAM_BOT_TOKEN is not set: `reminderbot run` needs the token from @BotFather "
            "(`reminderbot try` does not)")


def lines(text: str) -> list[str]:
    return text.strip("\n").splitlines()


@pytest.fixture
def messages(tmp_path: Path) -> Path:
    """A copy of the shipped catalog with English only (other languages may be unfinished),
    with the operator's emergency number filled in (`check` warns until it is)."""
    copy = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", copy)
    edit(copy / "emergency.yaml", 'emergency_number: ""', 'emergency_number: "112"')
    for folder in copy.iterdir():
        if folder.is_dir() and folder.name != "en":
            shutil.rmtree(folder)
    return copy


@pytest.fixture
def two_languages(messages: Path) -> Path:
    """The English-only copy plus ``zz``, a word-for-word copy of English."""
    shutil.copytree(messages / "en", messages / "zz")
    return messages


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def remove_entry(path: Path, key: str) -> None:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    del entries[key]
    path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --- help, usage and exit codes ------------------------------------------------------------


def test_help_lists_every_command_with_one_line_each(tmp_path: Path) -> None:
    result = reminderbot("--help", cwd=tmp_path, COLUMNS="80")
    assert result.returncode == 0 and result.stderr == ""
    listed = lines(result.stdout.split("\ncommands:\n  COMMAND\n", 1)[1])
    assert [line.split()[0] for line in listed] == list(COMMANDS)
    for line, (name, (_, summary, _)) in zip(listed, COMMANDS.items(), strict=True):
        assert line.split(None, 1) == [name, summary]


@pytest.mark.parametrize(
    "command", [[name] for name in COMMANDS] + [["messages", "show"]]
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = reminderbot(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"usage: reminderbot {' '.join(command)} ")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["bogus"], "reminderbot: argument COMMAND: invalid choice: 'bogus' (choose from "
                    + ", ".join(f"'{name}'" for name in COMMANDS) + ") (see `reminderbot --help`)"),
        ([], "reminderbot: the following arguments are required: COMMAND "
             "(see `reminderbot --help`)"),
        (["messages", "show"], "reminderbot messages show: the following arguments are "
                               "required: KEY (see `reminderbot messages show --help`)"),
        (["check", "--fast"], "reminderbot: unrecognized arguments: --fast "
                              "(see `reminderbot --help`)"),
        (["messages", "show", "no.such_key"],
         "reminderbot: no message key 'no.such_key'; `reminderbot messages` lists them"),
        (["messages", "--lint", "show", "hydration.thanks"],
         "reminderbot: --lint takes no further command"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(tmp_path: Path, args: list[str], error: str) -> None:
    result = reminderbot(*args, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", error + "\n")


def test_unknown_language_is_bad_usage(tmp_path: Path, messages: Path) -> None:
    result = reminderbot("messages", "show", "hydration.thanks", "--lang", "fr", cwd=tmp_path,
                         MESSAGES_DIR=str(messages))
    assert (result.returncode, result.stderr) == (
        2, "reminderbot: no language 'fr' in the catalog (en)\n"
    )


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://u:secret@127.0.0.1:1/x"
    quiet = reminderbot("migrate", cwd=tmp_path, DATABASE_URL=url)
    loud = reminderbot("--debug", "migrate", cwd=tmp_path, DATABASE_URL=url)
    line = "reminderbot: cannot use the database in DATABASE_URL (ConnectionRefusedError)"
    assert (quiet.returncode, quiet.stderr) == (1, line + "\n")
    assert loud.returncode == 1 and loud.stderr.startswith("Traceback (most recent call last):")
    assert lines(loud.stderr)[-1] == line
    assert reminderbot("migrate", "--debug", cwd=tmp_path, DATABASE_URL=url).stderr == loud.stderr


# --- check ---------------------------------------------------------------------------------


def test_check_on_a_migrated_database(
    tmp_path: Path, database_url: str, messages: Path
) -> None:
    assert reminderbot("migrate", cwd=tmp_path, DATABASE_URL=database_url).returncode == 0
    result = reminderbot("check", cwd=tmp_path, DATABASE_URL=database_url,
                         MESSAGES_DIR=str(messages))
    if database_url.startswith("sqlite"):
        where = f"SQLite file {tmp_path / 'bot.db'}"
    else:
        name = database_url.rsplit("/", 1)[1]
        where = f"PostgreSQL at 127.0.0.1:5432/{name}"
    assert lines(result.stdout) == [
        "✓ configuration is valid",
        f"✓ the {where} is reachable",
        f"✓ database schema is current (revision {', '.join(HEADS)})",
        "✓ message catalog is valid in en",
        NO_TOKEN,
    ]
    assert (result.returncode, result.stderr) == (0, "")


def test_check_says_how_many_migrations_are_missing(tmp_path: Path, messages: Path) -> None:
    database = tmp_path / "empty.db"
    database.touch()  # a SQLite database with no tables
    url = f"sqlite+aiosqlite:///{database}"
    result = reminderbot("check", cwd=tmp_path, DATABASE_URL=url, MESSAGES_DIR=str(messages))
    assert lines(result.stdout)[1:3] == [
        f"✓ the SQLite file {database} is reachable",
        f"! database is {MIGRATIONS} migrations behind; `reminderbot migrate` (or `run`) "
        "applies them",
    ]
    assert result.returncode == 0


def test_check_does_not_create_a_sqlite_file(tmp_path: Path, messages: Path) -> None:
    result = reminderbot("check", cwd=tmp_path, MESSAGES_DIR=str(messages))
    assert lines(result.stdout)[1] == (
        f"! the SQLite file {tmp_path / 'reminderbot.db'} does not exist yet; "
        "`reminderbot migrate` (or `run`) creates it"
    )
    assert result.returncode == 0 and not (tmp_path / "reminderbot.db").exists()


def test_check_names_an_unreachable_database_without_its_password(
    tmp_path: Path, messages: Path
) -> None:
    result = reminderbot("check", cwd=tmp_path, MESSAGES_DIR=str(messages),
                         DATABASE_URL="postgresql+asyncpg://u:secret@127.0.0.1:1/x")
    assert lines(result.stdout) == [
        "✓ configuration is valid",
        "✗ cannot connect to the PostgreSQL at 127.0.0.1:1/x: "
        "Connect call failed ('127.0.0.1', 1)",
        "✓ message catalog is valid in en",
        NO_TOKEN,
    ]
    assert (result.returncode, result.stderr) == (1, "")
    assert "secret" not in result.stdout + result.stderr


def test_check_names_every_bad_setting_and_exits_2(tmp_path: Path) -> None:
    result = reminderbot("check", cwd=tmp_path, DEFAULT_TIMEZONE="Mars/Olympus",
                         LOG_FORMAT="xml", REMINDER_SPREAD_MINUTES="-1")
    assert lines(result.stdout) == [
        "✗ configuration: DEFAULT_TIMEZONE is not an IANA time zone such as Europe/Berlin",
        "✗ configuration: REMINDER_SPREAD_MINUTES: Input should be greater than or equal to 0",
        "✗ configuration: LOG_FORMAT must be text or json",
    ]
    assert (result.returncode, result.stderr) == (2, "")


@pytest.mark.parametrize(
    ("env", "status", "expected"),
    [
        ({}, 0, ["✓ configuration is valid",
                 "! the SQLite file {tmp}/reminderbot.db does not exist yet; "
                 "`reminderbot migrate` (or `run`) creates it"]),
        ({"DATABASE_URL": "postgresql+asyncpg://u:secret@127.0.0.1:1/x"}, 1,
         ["✓ configuration is valid",
          "✗ cannot connect to the PostgreSQL at 127.0.0.1:1/x: "
          "Connect call failed ('127.0.0.1', 1)"]),
        # Docker reads status 2 as reserved: a bad configuration is 1 here.
        ({"DEFAULT_TIMEZONE": "Nowhere"}, 1,
         ["✗ configuration: DEFAULT_TIMEZONE is not an IANA time zone such as Europe/Berlin"]),
    ],
)
def test_health_checks_configuration_and_database_only(
    tmp_path: Path, messages: Path, env: dict[str, str], status: int, expected: list[str]
) -> None:
    edit(messages / "en" / "hydration.yaml", "{count}", "{number}")  # not looked at
    result = reminderbot("check", "--health", cwd=tmp_path, MESSAGES_DIR=str(messages), **env)
    assert lines(result.stdout) == [line.format(tmp=tmp_path) for line in expected]
    assert (result.returncode, result.stderr) == (status, "")


async def _check_async(tmp_path: Path, messages: Path, **env: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if k not in setting_names()}
    clean.update(env, MESSAGES_DIR=str(messages))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reminderbot", "check", cwd=tmp_path, env=clean,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode()


async def test_check_asks_telegram_who_the_bot_is(
    tmp_path: Path, messages: Path, api: BotAPIStandIn
) -> None:
    status, out = await _check_async(tmp_path, messages, TELEGRAM_BOT_TOKEN=api.token,
                                     TELEGRAM_API_BASE_URL=api.base_url)
    assert lines(out)[-1] == "✓ Telegram answers: the token belongs to @reminderbot_test_bot"
    assert status == 0 and NO_TOKEN not in out


async def test_check_fails_on_a_token_telegram_rejects(
    tmp_path: Path, messages: Path, api: BotAPIStandIn
) -> None:
    host = api.base_url.removesuffix("/bot")
    status, out = await _check_async(tmp_path, messages, TELEGRAM_BOT_TOKEN=GOOD_TOKEN[:-1] + "X",
                                     TELEGRAM_API_BASE_URL=api.base_url)
    assert lines(out)[-1] == f"✗ Telegram ({host}) rejected TELEGRAM_BOT_TOKEN"
    assert status == 1


def test_check_fails_when_telegram_is_unreachable(tmp_path: Path, messages: Path) -> None:
    result = reminderbot("check", cwd=tmp_path, MESSAGES_DIR=str(messages),
                         TELEGRAM_BOT_TOKEN=GOOD_TOKEN, TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot")
    assert lines(result.stdout)[-1] == (
        "✗ cannot reach Telegram at http://127.0.0.1:9 "
        "(httpx.ConnectError: All connection attempts failed)"
    )
    assert result.returncode == 1 and GOOD_TOKEN not in result.stdout


def test_check_warns_about_the_example_token(tmp_path: Path, messages: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = reminderbot("check", cwd=tmp_path, MESSAGES_DIR=str(messages))
    assert lines(result.stdout)[-1] == (
        "! TELEGRAM_BOT_TOKEN is still the example from .env.example: put the token from "
        "@BotFather there"
    )
    assert result.returncode == 0


def test_check_fails_on_a_broken_catalog(tmp_path: Path, two_languages: Path) -> None:
    remove_entry(two_languages / "zz" / "hydration.yaml", "hydration.thanks")
    remove_entry(two_languages / "zz" / "stop.yaml", "stop.done")
    result = reminderbot("check", cwd=tmp_path, MESSAGES_DIR=str(two_languages))
    assert lines(result.stdout)[2] == (
        "✗ message catalog: zz stop.done: missing (users get the en text) (and 1 more); "
        "`reminderbot messages --lint` lists every problem"
    )
    assert result.returncode == 1


# --- messages ------------------------------------------------------------------------------


def test_lint_passes_on_the_shipped_catalog(tmp_path: Path) -> None:
    result = reminderbot("messages", "--lint", cwd=tmp_path)
    assert result.stdout.startswith("✓ messages are valid in en"), result.stdout[-3000:]
    assert (result.returncode, result.stderr) == (0, "")


def test_lint_passes_on_english_alone(tmp_path: Path, messages: Path) -> None:
    result = reminderbot("messages", "--lint", cwd=tmp_path, MESSAGES_DIR=str(messages))
    assert (result.returncode, result.stdout) == (
        0, f"✓ messages are valid in en ({len(texts.ALL_KEYS)} keys)\n"
    )


def _lint(tmp_path: Path, messages: Path) -> tuple[int, list[str]]:
    result = reminderbot("messages", "--lint", cwd=tmp_path, MESSAGES_DIR=str(messages))
    assert result.stderr == ""
    return result.returncode, lines(result.stdout)


def test_lint_names_a_key_missing_from_a_language(tmp_path: Path, two_languages: Path) -> None:
    remove_entry(two_languages / "zz" / "hydration.yaml", "hydration.thanks")
    assert _lint(tmp_path, two_languages) == (
        1, ["✗ zz hydration.thanks: missing (users get the en text)"]
    )


def test_lint_names_a_placeholder_that_differs_between_languages(
    tmp_path: Path, two_languages: Path
) -> None:
    path = two_languages / "zz" / "hydration.yaml"
    edit(path, "{count}", "{number}")
    assert _lint(tmp_path, two_languages) == (1, [
        f"✗ message key hydration.thanks ({path}): placeholders ['number'] do not match "
        "['count']"
    ])


def test_lint_measures_text_with_the_longest_values(tmp_path: Path, messages: Path) -> None:
    # "{count}" is 3 characters at most ("999"): 4093 + 3 fits, 4094 + 3 does not.
    path = messages / "en" / "hydration.yaml"
    fits = "Thanks. Glasses logged today: {count}"
    edit(path, fits, "a" * 4093 + "{count}")
    assert _lint(tmp_path, messages) == (0, [f"✓ messages are valid in en ({len(texts.ALL_KEYS)} "
                                             "keys)"])
    edit(path, "a" * 4093, "a" * 4094)
    assert _lint(tmp_path, messages) == (1, [
        "✗ en hydration.thanks: 4097 characters with the longest placeholder values; "
        "Telegram's limit is 4096"
    ])


def test_lint_names_html_telegram_refuses(tmp_path: Path, messages: Path) -> None:
    path = messages / "en" / "hydration.yaml"
    edit(path, "Thanks. Glasses", "<blink>Thanks.</blink> Glasses")
    assert _lint(tmp_path, messages) == (1, [
        f"✗ message key hydration.thanks ({path}): tag <blink> is not allowed by Telegram"
    ])


def test_lint_names_an_unknown_source_section(tmp_path: Path, messages: Path) -> None:
    path = messages / "en" / "stop.yaml"
    edit(path, "stop.done:\n  source: ", "stop.done:\n  source: nowhere  # was ")
    code, found = _lint(tmp_path, messages)
    assert code == 1 and len(found) == 1
    assert found[0].startswith(f"✗ message key stop.done ({path}): 'source' must be one of [")


def test_lint_names_claim_words_in_any_language(tmp_path: Path, two_languages: Path) -> None:
    edit(two_languages / "en" / "hydration.yaml", "Thanks. Glasses",
         "Water is a natural <b>Remedy</b>. Glasses")
    edit(two_languages / "zz" / "stop.yaml", "stop.done:\n  source: interface\n  text: |\n",
         "stop.done:\n  source: interface\n  text: |\n    Es más   seguro así.\n")
    # Whole words only: "naturally", "unnatural", "treat", "treatment", "secure" are fine.
    edit(two_languages / "zz" / "hydration.yaml", "Thanks. Glasses",
         "Naturally, treat yourself to an unnatural treatment. Keep it secure. Glasses")
    code, found = _lint(tmp_path, two_languages)
    assert (code, found) == (1, [
        "✗ en hydration.thanks: says 'natural', a claim word listed in messages/lint.yaml",
        "✗ en hydration.thanks: says 'remedy', a claim word listed in messages/lint.yaml",
        "✗ zz stop.done: says 'más   seguro', a claim word listed in messages/lint.yaml",
    ])


def test_lint_wants_an_example_for_every_placeholder(
    monkeypatch: pytest.MonkeyPatch, messages: Path
) -> None:
    monkeypatch.delitem(EXAMPLES, "count")
    catalog, problems = lint(messages)
    assert catalog is not None
    found = [str(p) for p in problems]
    missing = "placeholder {count} has no example in reminderbot/messagelint.py EXAMPLES"
    assert f"hydration.thanks: {missing}" in found
    assert all(line.endswith(f": {missing}") for line in found)


def test_check_messages_is_a_deprecated_alias(tmp_path: Path, messages: Path) -> None:
    result = reminderbot("check-messages", cwd=tmp_path, MESSAGES_DIR=str(messages))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"✓ messages are valid in en ({len(texts.ALL_KEYS)} keys)\n",
        "reminderbot: check-messages is deprecated and goes away in the next release; "
        "use `reminderbot messages --lint`\n",
    )


def test_show_prints_what_the_user_reads(tmp_path: Path) -> None:
    result = reminderbot("messages", "show", "hydration.thanks", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        0, "Thanks. Glasses logged today: 3\n", ""
    )


def test_show_prints_every_variant_of_a_rotating_message(tmp_path: Path, messages: Path) -> None:
    path = messages / "en" / "hydration.yaml"
    path.write_text(
        "hydration.reminder:\n  source: safe-use\n  variants:\n    - Drink.\n"
        "    - <i>Water</i> &amp; rest.\n"
        + path.read_text(encoding="utf-8").split("\nhydration.button_done:", 1)[0].split(
            "hydration.reminder:", 1)[0]
        + "\nhydration.button_done:"
        + path.read_text(encoding="utf-8").split("\nhydration.button_done:", 1)[1],
        encoding="utf-8",
    )
    result = reminderbot("messages", "show", "hydration.reminder", cwd=tmp_path,
                         MESSAGES_DIR=str(messages))
    assert (result.returncode, result.stdout) == (
        0, "── variant 1 of 2 ──\nDrink.\n\n── variant 2 of 2 ──\nWater & rest.\n"
    )


def test_show_styles_the_text_on_a_terminal(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in setting_names() | {"NO_COLOR"}}
    exe = shutil.which("reminderbot", path=str(Path(sys.executable).parent)) or "reminderbot"
    process = subprocess.run([exe, "messages", "show", "checkin.question"], cwd=tmp_path,
                             env=env, stdout=terminal, stderr=subprocess.PIPE, timeout=60,
                             check=False)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.returncode == 0
    assert output.decode().startswith("\033[1mHow are you feeling?\033[22m\r\n")


def test_show_says_when_a_language_lacks_the_key(tmp_path: Path, two_languages: Path) -> None:
    remove_entry(two_languages / "zz" / "hydration.yaml", "hydration.thanks")
    result = reminderbot("messages", "show", "hydration.thanks", "--lang", "zz", cwd=tmp_path,
                         MESSAGES_DIR=str(two_languages))
    assert (result.returncode, result.stdout, result.stderr) == (
        0, "Thanks. Glasses logged today: 3\n",
        "reminderbot: hydration.thanks has no zz text; users get the en one\n",
    )


def test_messages_lists_every_key_per_language(tmp_path: Path, two_languages: Path) -> None:
    remove_entry(two_languages / "zz" / "hydration.yaml", "hydration.thanks")
    result = reminderbot("messages", cwd=tmp_path, MESSAGES_DIR=str(two_languages))
    assert result.returncode == 0
    width = max(map(len, texts.ALL_KEYS))
    listed = lines(result.stdout)
    count = len(texts.ALL_KEYS)
    assert listed[0] == "en:" and listed[count + 1] == "zz:" and len(listed) == 2 * count + 2
    assert [line.split()[0] for line in listed[1 : count + 1]] == sorted(texts.ALL_KEYS)
    assert f"  {'hydration.thanks':<{width}}  interface" in listed[1 : count + 1]
    assert f"  {'hydration.reminder':<{width}}  safe-use" in listed[1 : count + 1]
    assert (f"  {'hydration.thanks':<{width}}  (missing: users get the en text)"
            in listed[count + 2 :])


def test_terminal_rendering_of_telegram_html() -> None:
    html = "\n<b>Bold <i>both</i></b> &amp; <u>under</u> <s>gone</s> <code>x&lt;y</code>\n"
    assert to_terminal(html, color=False) == "Bold both & under gone x<y"
    assert to_terminal(html, color=True) == (
        "\033[1mBold \033[3mboth\033[23m\033[22m & \033[4munder\033[24m "
        "\033[9mgone\033[29m x<y"
    )
