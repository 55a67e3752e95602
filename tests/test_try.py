"""`reminderbot try`: the real bot in a terminal, offline, driven by a scripted stdin."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reminderbot.config import setting_names
from reminderbot.testing.botapi import SentMessage
from reminderbot.tryout import parse_time_command, styled

SCRIPT = "/start\n1\n/info\n/time +3h\n1\n/stop\n/time +6h\n"
ARGS = ["try", "--timezone", "Europe/Berlin", "--start-at", "2026-11-25T10:30"]
BOT_HEADER = "── bot ·"

# Records every outgoing connection and name lookup the process makes.
AUDIT = """
import json, os, sys
log = open(os.environ["AUDIT_LOG"], "a")
def hook(event, args):
    if event == "socket.connect":
        log.write(json.dumps(["connect", repr(args[1])]) + "\\n"); log.flush()
    elif event == "socket.getaddrinfo":
        log.write(json.dumps(["lookup", str(args[0])]) + "\\n"); log.flush()
sys.addaudithook(hook)
from reminderbot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_try(tmp_path: Path, stdin: str, *args: str, audit: Path | None = None,
            **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in setting_names()}
    clean.update(env, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    if audit is not None:
        clean["AUDIT_LOG"] = str(audit)
        command = [sys.executable, "-c", AUDIT, *args]
    else:
        command = [sys.executable, "-m", "reminderbot", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=tmp_path,
                          env=clean, timeout=120, check=False)


def port_of(output: str) -> int:
    match = re.search(r"stand-in on 127\.0\.0\.1:(\d+)", output)
    assert match, output[:300]
    return int(match.group(1))


def test_a_scripted_session_from_consent_to_stop(tmp_path: Path) -> None:
    result = run_try(tmp_path, SCRIPT, *ARGS)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in out + result.stderr
    assert "<b>" not in out  # HTML is rendered, never shown raw
    assert "[1] Yes, remind me   [2] Just information" in out
    assert "First water reminder: 12:0" in out  # the consent reply says when
    assert "Mitragyna speciosa" in out
    reminder = out.index("[1] Done 💧")
    assert re.search(r"── bot · Wed 25 Nov 12:0\d ──\n.+\n\[1\] Done 💧", out)  # at its own time
    assert "(it is now Wed 25 Nov 13:30)" in out
    assert "Glasses logged today: 1" in out[reminder:]
    stopped = out.index("All reminders are stopped")
    assert BOT_HEADER not in out[stopped:]  # six more hours pass: nothing more is sent
    assert "(it is now Wed 25 Nov 19:30)" in out[stopped:]
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port_of(out)), 1):
        pass  # the stand-in's port is closed
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary database is gone


def test_try_connects_to_nothing_but_loopback(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    result = run_try(tmp_path, SCRIPT, *ARGS, audit=audit)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    connects = [target for kind, target in events if kind == "connect"]
    lookups = {target for kind, target in events if kind == "lookup"}
    assert connects, "the bot made no connection at all"
    for target in connects:
        assert target.startswith(("('127.0.0.1'", "('::1'", "'/")), target
    assert lookups <= {"127.0.0.1", "localhost", "::1"}, lookups


def test_end_of_input_at_once_ends_cleanly(tmp_path: Path) -> None:
    result = run_try(tmp_path, "", "try")
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr


def test_keep_db_keeps_the_conversation(tmp_path: Path) -> None:
    kept = tmp_path / "kept.db"
    first = run_try(tmp_path, "/start\n1\n", *ARGS, "--keep-db", str(kept))
    assert first.returncode == 0 and kept.exists()
    second = run_try(tmp_path, "/start\n", *ARGS, "--keep-db", str(kept))
    assert "You already get reminders" in second.stdout


def test_unknown_input_is_explained(tmp_path: Path) -> None:
    result = run_try(tmp_path, "/time soon\n7\nhello\n", *ARGS)
    assert "usage: /time +30m | +3h | +1d | 09:30" in result.stdout
    assert "no message has a button [7]" in result.stdout
    assert "/help" in result.stdout  # plain text goes to the bot, which points to /help


def test_time_command_parsing() -> None:
    zone = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert parse_time_command("+30m", now, zone) == now.replace(minute=30)
    assert parse_time_command("+1d", now, zone) == now.replace(day=26)
    assert parse_time_command("09:30", now, zone) == datetime(2026, 11, 26, 9, 30, tzinfo=zone)
    assert parse_time_command("10:30", now, zone) == datetime(2026, 11, 25, 10, 30, tzinfo=zone)
    for bad in ("", "3h", "+3w", "25:00", "9:75", "+-1h"):
        assert parse_time_command(bad, now, zone) is None, bad


def test_ctrl_c_ends_cleanly_and_closes_the_port(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in setting_names()}
    process = subprocess.Popen(
        [sys.executable, "-m", "reminderbot", *ARGS], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=clean,
    )
    assert process.stdout is not None and process.stdin is not None
    first_line = process.stdout.readline()  # the banner: the bot is up
    process.stdin.write("/start\n")
    process.stdin.flush()
    while "[1] Yes, remind me" not in process.stdout.readline():
        pass
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in out + err
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port_of(first_line)), 1):
        pass


def test_colour_only_on_a_terminal() -> None:
    message = SentMessage(message_id=1, chat_id=1, text="<b>Hi</b> 💧 <i>there</i>",
                          parse_mode="HTML", reply_markup=None, date=datetime.now(UTC),
                          plain_text="Hi 💧 there",
                          entities=[{"type": "bold", "offset": 0, "length": 2},
                                    {"type": "italic", "offset": 6, "length": 5}])
    assert styled(message, color=False) == "Hi 💧 there"
    coloured = styled(message, color=True)
    assert "\033[1mHi\033[0m" in coloured and "\033[3mthere\033[0m" in coloured
