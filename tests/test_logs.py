"""Log lines: text or JSON, tagged with the update that caused them, free of personal data."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from reminderbot.config import setting_names
from reminderbot.logs import CURRENT_UPDATE_ID, make_handler
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from tests.conftest import BotUnderTest

probe_log = logging.getLogger("reminderbot.test_probe")


def _emit(log_format: str, update_id: int | None, message: str) -> str:
    stream = io.StringIO()
    handler = make_handler(log_format, stream)  # type: ignore[arg-type]
    logger = logging.getLogger(f"reminderbot.test_{log_format}")
    logger.addHandler(handler)
    logger.propagate = False
    try:

        def log() -> None:
            CURRENT_UPDATE_ID.set(update_id)
            logger.warning(message, 7)

        contextvars.copy_context().run(log)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_lines_carry_the_update_id() -> None:
    line = _emit("json", 5150, "sent %d reminders")
    record = json.loads(line)
    assert line.endswith("\n") and line.count("\n") == 1
    assert set(record) == {"time", "level", "logger", "message", "update"}
    assert (record["level"], record["logger"], record["message"], record["update"]) == (
        "WARNING", "reminderbot.test_json", "sent 7 reminders", 5150
    )


def test_json_lines_outside_an_update_have_no_update_field() -> None:
    record = json.loads(_emit("json", None, "tick: %d due"))
    assert "update" not in record and record["message"] == "tick: 7 due"


def test_text_lines_end_with_the_update_id() -> None:
    line = _emit("text", 5150, "sent %d reminders")
    assert line.endswith(" WARNING reminderbot.test_text: sent 7 reminders update=5150\n")
    plain = _emit("text", None, "sent %d reminders")
    assert plain.endswith(" WARNING reminderbot.test_text: sent 7 reminders\n")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log line of the process, as the JSON handler writes it."""
    stream = io.StringIO()
    handler = make_handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_every_line_an_update_causes_names_it(
    bot: BotUnderTest, json_log: io.StringIO
) -> None:
    seen: list[int] = []

    async def probe(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)
        probe_log.info("probe saw an update")
        raise RuntimeError("probe failure")  # the error handler logs it too

    assert bot.application is not None
    bot.application.add_handler(TypeHandler(Update, probe), group=99)
    await bot.send("/help")
    await bot.send("/info")

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    caused = [(line["message"], line.get("update")) for line in lines
              if line["logger"].startswith(("reminderbot.test_probe", "reminderbot.handlers"))]
    assert len(seen) == 2 and seen[0] != seen[1]
    assert [entry for entry in caused if entry[0].startswith(("probe", "handler failed: Run"))] == [
        ("probe saw an update", seen[0]),
        ("handler failed: RuntimeError", seen[0]),
        ("probe saw an update", seen[1]),
        ("handler failed: RuntimeError", seen[1]),
    ]
    assert {update for _, update in caused} == set(seen)  # every handler line names its update
    text = json_log.getvalue()
    assert str(bot.user.id) not in text and "Sam" not in text


async def test_run_with_log_format_json_writes_only_json_lines(
    tmp_path: Path, api: BotAPIStandIn
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in setting_names()}
    env.update(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, LOG_FORMAT="json")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reminderbot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    user = FakeUser(id=777002, first_name="Robin")
    try:
        await api.send_message(user, "/help")
        await api.wait_for_messages(user.id, 1, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    lines = stderr.decode().splitlines()
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    assert records and all(
        set(record) >= {"time", "level", "logger", "message"} for record in records
    )
    text = stderr.decode()
    assert api.token not in text and "777002" not in text and "Robin" not in text
