"""Settings from the environment (and an optional ``.env``), checked before anything starts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# BotFather tokens look like "123456789:AA...": a numeric bot id, a colon, 30+ url-safe chars.
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line naming the variable."""


class Settings(BaseSettings):
    """The bot's configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = Field(default=None, repr=False)
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = "sqlite+aiosqlite:///reminderbot.db"
    default_timezone: str = "UTC"
    reminder_spread_minutes: int = Field(default=10, ge=0, le=180)
    messages_dir: Path | None = None  # None: the catalog shipped with the bot
    # A symptom reported in this many of the last SYMPTOM_REPEAT_WINDOW check-ins gets a
    # suggestion to talk to a healthcare provider (at most once a week).
    symptom_repeat_count: int = Field(default=3, ge=1, le=30)
    symptom_repeat_window: int = Field(default=7, ge=1, le=30)
    log_format: Literal["text", "json"] = "text"
    # A user who blocked the bot is erased this many days later (0: kept until they /delete).
    erase_blocked_after_days: int = Field(default=30, ge=0, le=3650)
    # Telegram user ids that may use /stats; comma-separated in the environment.
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()

    @field_validator("messages_dir")
    @classmethod
    def _messages_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "sources.yaml").is_file():
            raise ValueError("must be a folder with sources.yaml and en/ (a copy of messages/)")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is not None and not _TOKEN_RE.match(value.strip()):
            raise ValueError("is malformed; expected the token BotFather gave you (123456:ABC-...)")
        return value.strip() if value is not None else None

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(_DRIVERS):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        normalized = value.strip().lower() if isinstance(value, str) else value
        if normalized not in ("text", "json"):
            raise ValueError("must be text or json")
        return normalized

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(re.fullmatch(r"[0-9]{1,20}", part) for part in parts):
            raise ValueError("must be Telegram user ids (numbers) separated by commas, "
                             "e.g. 12345678,87654321")
        return frozenset(int(part) for part in parts)

    def require_token(self) -> str:
        """The bot token, or ``ConfigError`` when it is not set."""
        if not self.telegram_bot_token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set; get one from @BotFather")
        return self.telegram_bot_token


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise ``ConfigError`` with one line naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0])) from None


def configuration_problems(**overrides: Any) -> list[str]:
    """Every bad variable, one line each naming it (empty when the settings load)."""
    try:
        Settings(**overrides)
    except ValidationError as exc:
        return [_describe(error) for error in exc.errors()]
    return []


def _describe(error: ErrorDetails) -> str:
    name = str(error["loc"][0]).upper() if error["loc"] else "configuration"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name} {message}" if message.startswith(("is ", "must ")) else f"{name}: {message}"


def setting_names() -> set[str]:
    """Every environment variable the bot reads."""
    return {name.upper() for name in Settings.model_fields}
