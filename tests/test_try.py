"""`reminderbot try`: the real bot in a terminal, offline, driven by a scripted stdin."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.ext import Application

from reminderbot.clock import ManualClock
from reminderbot.config import setting_names
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, SentMessage, image_size
from reminderbot.tryout import (
    TerminalChat,
    free_path,
    keyboard_line,
    parse_location_command,
    parse_time_command,
    styled,
)

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


# ---------------------------------------------------------------- locations, photos, files

UTC_ARGS = ["try", "--timezone", "UTC", "--start-at", "2026-11-25T10:30"]
PROMPT = "Wed 25 Nov 10:30 UTC > "


def test_a_shared_location_reaches_the_bot(tmp_path: Path) -> None:
    script = "/start\n1\n/location 52.52 13.40\n/location 52.52\n/location 91 0\n"
    result = run_try(tmp_path, script, *UTC_ARGS)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in out + result.stderr
    assert "; /location 52.52 13.40 shares a location; /quit ends.\n" in out  # the banner
    # The bot's question comes with its reply keyboard, and how to press its button here.
    assert ("Until then, times are in UTC.\n"
            "[keyboard: 📍 Share my location — type /location LAT LON]\n\n") in out
    assert (f"{PROMPT}/location 52.52 13.40\n"
            "── bot · Wed 25 Nov 10:30 ──\n"
            "Time zone set to Europe/Berlin: it is 11:30 for you now.\n"
            "Reminders follow your local time from now on.\n"
            "[1] Change time zone\n\n") in out
    usage = "  usage: /location LAT LON, e.g. /location 52.52 13.40\n"
    assert out.endswith(
        f"{PROMPT}/location 52.52\n{usage}{PROMPT}/location 91 0\n{usage}{PROMPT}\n"
    )


def logged_glass_then_history(tmp_path: Path, *args: str) -> tuple[str, Path]:
    """Log a glass, ask for /history; return the output and the photo file it names."""
    result = run_try(tmp_path, "/start\n1\n/time +2h\n1\n/history\n", *UTC_ARGS, *args)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in out + result.stderr
    shown = re.search(r"^── bot · Wed 25 Nov 12:30 ──\n\[photo: (/.+/photo-\d+\.png)\]\n(.+)\n",
                      out, re.MULTILINE)
    assert shown, out[-800:]
    assert shown.group(2) == "Your last 14 days"  # the caption, under the photo's path
    return out, Path(shown.group(1))


def test_a_photo_is_kept_beside_a_kept_database(tmp_path: Path) -> None:
    out, photo = logged_glass_then_history(tmp_path, "--keep-db", "kept.db")
    files = tmp_path / "kept-files"
    assert f"Photos and files from the bot are saved in {files}.\n" in out
    assert photo.parent == files
    assert image_size(photo.read_bytes()) is not None  # the PNG the bot sent, after the run


def test_a_photo_lives_in_the_temporary_folder_until_the_end(tmp_path: Path) -> None:
    out, photo = logged_glass_then_history(tmp_path)
    assert photo.is_relative_to(tmp_path / "tmp") and photo.parent.name == "files"
    banner = f"Photos and files from the bot are saved in {photo.parent} (deleted when you quit)."
    assert f"{banner}\n" in out
    assert list((tmp_path / "tmp").iterdir()) == []


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x00\x66\xcc" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_the_terminal_shows_photos_files_and_reply_keyboards(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "mydata.json").write_text("from an earlier run")
    chart, export = png(30, 20), b'{"glasses": 1}'
    user = FakeUser(id=42)
    clock = ManualClock(datetime(2026, 11, 25, 10, 30, tzinfo=UTC))
    out = io.StringIO()
    async with BotAPIStandIn(clock=clock.now) as api:
        application = Application.builder().token(api.token).base_url(api.base_url).build()
        TerminalChat(api, application, clock, ZoneInfo("UTC"), user, out, False, files)
        async with Bot(api.token, base_url=api.base_url) as bot:
            more = InlineKeyboardMarkup([[InlineKeyboardButton("Older", callback_data="old")]])
            await bot.send_photo(user.id, chart, caption="<b>Your</b> last 14 days",
                                 parse_mode="HTML", reply_markup=more)
            await bot.send_document(user.id, InputFile(export, filename="../mydata.json"),
                                    caption="All of it")
            share = KeyboardButton("📍 Share my location", request_location=True)
            await bot.send_message(user.id, "Where are you?",
                                   reply_markup=ReplyKeyboardMarkup([[share], ["Later"]]))
            await bot.edit_message_reply_markup(user.id, 1)  # the photo's button goes
            await bot.send_photo(user.id, chart)
    assert out.getvalue() == (
        "── bot · Wed 25 Nov 10:30 ──\n"
        f"[photo: {files / 'photo-1.png'}]\n"
        "Your last 14 days\n"
        "[1] Older\n"
        "\n"
        "── bot · Wed 25 Nov 10:30 ──\n"
        f"[file: mydata.json → {files / 'mydata-2.json'}]\n"
        "All of it\n"
        "\n"
        "── bot · Wed 25 Nov 10:30 ──\n"
        "Where are you?\n"
        "[keyboard: 📍 Share my location — type /location LAT LON | Later]\n"
        "\n"
        "── bot · Wed 25 Nov 10:30 (edited) ──\n"
        f"[photo: {files / 'photo-1.png'}] …\n"
        "\n"
        "── bot · Wed 25 Nov 10:30 ──\n"
        f"[photo: {files / 'photo-4.png'}]\n"
        "\n"
    )
    assert (files / "photo-1.png").read_bytes() == chart == (files / "photo-4.png").read_bytes()
    assert (files / "mydata-2.json").read_bytes() == export
    assert (files / "mydata.json").read_text() == "from an earlier run"  # never overwritten
    assert sorted(p.name for p in files.iterdir()) == [
        "mydata-2.json", "mydata.json", "photo-1.png", "photo-4.png"
    ]


def test_location_command_parsing() -> None:
    assert parse_location_command(" 52.52 13.40") == (52.52, 13.40)
    assert parse_location_command("52.52, 13.4 ") == (52.52, 13.4)
    assert parse_location_command("-33.8688,151.2093") == (-33.8688, 151.2093)
    assert parse_location_command("90 -180") == (90.0, -180.0)
    for bad in ("", "52.52", "52.52 13.40 7", "north east", "91 0", "0 180.5", "nan 0",
                "inf 0", "52,52 13,40"):
        assert parse_location_command(bad) is None, bad


@given(st.floats(-90, 90), st.floats(-180, 180), st.sampled_from([" ", ", ", ",", "  "]))
def test_any_place_typed_is_the_place_shared(latitude: float, longitude: float,
                                             separator: str) -> None:
    assert parse_location_command(f" {latitude!r}{separator}{longitude!r}") == (latitude,
                                                                                 longitude)


@given(st.floats(allow_nan=False), st.floats(allow_nan=False))
def test_no_impossible_place_is_shared(latitude: float, longitude: float) -> None:
    parsed = parse_location_command(f"{latitude} {longitude}")
    possible = abs(latitude) <= 90 and abs(longitude) <= 180
    assert parsed == ((latitude, longitude) if possible else None)


def test_keyboard_line_and_free_path(tmp_path: Path) -> None:
    def sent(markup: dict[str, object] | None) -> SentMessage:
        return SentMessage(message_id=1, chat_id=1, text="x", parse_mode=None,
                           reply_markup=markup, date=datetime.now(UTC), plain_text="x")

    share = {"text": "📍 Share my location", "request_location": True}
    assert keyboard_line(sent({"keyboard": [[share]]})) == (
        "[keyboard: 📍 Share my location — type /location LAT LON]"
    )
    assert keyboard_line(sent({"keyboard": [["Yes", "No"]]})) == "[keyboard: Yes | No]"
    assert keyboard_line(sent({"remove_keyboard": True})) is None
    assert keyboard_line(sent(None)) is None
    assert free_path(tmp_path, "a.png") == tmp_path / "a.png"
    (tmp_path / "a.png").touch()
    (tmp_path / "a-2.png").touch()
    assert free_path(tmp_path, "a.png") == tmp_path / "a-3.png"
