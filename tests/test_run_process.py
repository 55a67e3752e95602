"""`reminderbot run` as an operator starts it: a real process against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from reminderbot.config import setting_names
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from tests.conftest import TOKEN


async def start_bot(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    clean = {k: v for k, v in os.environ.items() if k not in setting_names()}
    clean.update(env)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reminderbot",
        "run",
        cwd=tmp_path,
        env=clean,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_answers_what_came_while_it_was_down_and_stops_on_sigterm(
    tmp_path: Path, api: BotAPIStandIn
) -> None:
    user = FakeUser(id=777001)
    await api.send_message(user, "/help")  # sent before the bot is up
    process = await start_bot(
        tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url
    )
    try:
        [reply] = await api.wait_for_messages(user.id, 1, timeout=30)
        assert "/sideeffects" in reply.plain_text
        assert api.my_commands[0]["command"] == "start"
        await api.send_message(user, "/start")
        await api.wait_for_messages(user.id, 2, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()[-2000:]
    log = stderr.decode()
    assert "Traceback" not in log
    assert TOKEN not in log and "777001" not in log  # no token, no user ids in the logs
    assert (tmp_path / "reminderbot.db").exists()


async def test_a_token_telegram_rejects_is_one_line(tmp_path: Path, api: BotAPIStandIn) -> None:
    process = await start_bot(
        tmp_path,
        TELEGRAM_BOT_TOKEN="987654321:AAwrong-token-the-stand-in-refuses",
        TELEGRAM_API_BASE_URL=api.base_url,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert lines[-1] == "reminderbot: TELEGRAM_BOT_TOKEN was rejected by Telegram"
    assert "Traceback" not in stderr.decode()


async def test_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    process = await start_bot(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot"
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode()
    assert process.returncode == 1
    assert "TELEGRAM_API_BASE_URL" in text.strip().splitlines()[-1]
    assert "Traceback" not in text
