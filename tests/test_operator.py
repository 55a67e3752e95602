"""What an operator meets: one-line configuration errors, migrations, docker-compose settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reminderbot.config import setting_names

ROOT = Path(__file__).resolve().parent.parent
GOOD_TOKEN = "123456789:AAtest-stand-in-token-0123456789"


def reminderbot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script with only the given settings in its environment."""
    clean = {k: v for k, v in os.environ.items() if k not in setting_names()}
    clean.update(env)
    exe = shutil.which("reminderbot", path=str(Path(sys.executable).parent)) or "reminderbot"
    return subprocess.run([exe, *args], cwd=cwd, env=clean, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "DEFAULT_TIMEZONE": "Mars/Olympus"},
         "DEFAULT_TIMEZONE"),
        ({"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "REMINDER_SPREAD_MINUTES": "ten"},
         "REMINDER_SPREAD_MINUTES"),
        ({"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "REMINDER_SPREAD_MINUTES": "-1"},
         "REMINDER_SPREAD_MINUTES"),
        ({"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "TELEGRAM_API_BASE_URL": "api.telegram.org"},
         "TELEGRAM_API_BASE_URL"),
        ({"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "MESSAGES_DIR": "/nonexistent"}, "MESSAGES_DIR"),
    ],
)
def test_bad_configuration_exits_2_with_one_line_naming_the_variable(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = reminderbot("run", cwd=tmp_path, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reminderbot.db").exists()  # nothing half-written


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT_TIMEZONE=Nowhere/Land\n")
    result = reminderbot("migrate", cwd=tmp_path)
    assert result.returncode == 2 and "DEFAULT_TIMEZONE" in result.stderr


def test_broken_catalog_stops_the_start_naming_the_key(tmp_path: Path) -> None:
    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", messages)
    start = messages / "en" / "start.yaml"
    start.write_text(start.read_text().replace("{first_hydration}", "{first_water}"))
    result = reminderbot("run", cwd=tmp_path, TELEGRAM_BOT_TOKEN=GOOD_TOKEN,
                         MESSAGES_DIR=str(messages))
    assert result.returncode == 2
    assert "start.consent_done" in result.stderr and "Traceback" not in result.stderr


def test_migrate_creates_the_database_and_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        result = reminderbot("migrate", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "reminderbot.db").exists()  # the default: a SQLite file here


def test_check_messages_passes_on_the_shipped_catalog(tmp_path: Path) -> None:
    result = reminderbot("check-messages", cwd=tmp_path)
    assert result.returncode == 0 and "en" in result.stdout


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = reminderbot("migrate", cwd=tmp_path,
                         DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert result.returncode == 1 and "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_docker_compose_sets_only_real_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    bot = compose["services"]["bot"]
    environment = bot.get("environment", {})
    names = set(environment) if isinstance(environment, dict) else {
        item.split("=", 1)[0] for item in environment
    }
    assert names, "the bot service sets no variables"
    assert names <= setting_names(), names - setting_names()
    assert "DATABASE_URL" in names and names & {"TELEGRAM_BOT_TOKEN"} == set()  # token from .env
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["db"]
    assert compose["services"]["db"]["image"].startswith("postgres:16")
    assert "pgdata" in compose["volumes"]
    assert bot["restart"] == "unless-stopped" and "healthcheck" in bot
    assert bot["healthcheck"]["test"][:3] == ["CMD", "python", "-c"]
    assert "/healthz" in bot["healthcheck"]["test"][3]
    assert bot["command"] == ["sh", "-c", "reminderbot migrate && exec reminderbot run"]


# Variables docker-compose itself reads from .env (for ${...} in docker-compose.yml).
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
_EXAMPLE_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")


def env_example_names() -> list[str]:
    """Every variable .env.example sets or shows commented out (``# NAME=default``)."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return [match[1] for line in lines if (match := _EXAMPLE_LINE.match(line))]


def test_env_example_shows_every_setting_and_only_settings() -> None:
    names = env_example_names()
    for name in names:
        assert name in setting_names() | COMPOSE_ONLY, (
            f".env.example has {name}, which is not a setting in reminderbot/config.py"
        )
    for name in sorted(setting_names()):
        assert name in names, f"{name} is a setting but .env.example does not show it"
    assert len(names) == len(set(names)), "a variable appears twice in .env.example"
    assert [line for line in (ROOT / ".env.example").read_text().splitlines()
            if line.startswith("TELEGRAM_BOT_TOKEN=")], "TELEGRAM_BOT_TOKEN= must be uncommented"


def test_compose_uses_only_settings_and_its_own_variables() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text):
        assert name in setting_names() | COMPOSE_ONLY, (
            f"docker-compose.yml reads ${{{name}}}, which is neither a setting nor in "
            "COMPOSE_ONLY"
        )
        assert name in env_example_names(), (
            f"docker-compose.yml reads {name}: add it to .env.example"
        )
