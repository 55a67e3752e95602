"""Settings from the environment (and an optional ``.env``), checked before anything starts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# BotFather tokens look like "123456789:AA...": a numeric bot id, a colon, 30+ url-safe chars.
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
# Telegram's rule for setWebhook's secret_token: 1-256 characters of these.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# The HTTP port with WEBHOOK_URL when HTTP_PORT is not set.
DEFAULT_WEBHOOK_PORT = 8080


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
    # The sends a minute the capacity forecast and the adaptive spread plan against (None:
    # Telegram's limit); lower it to keep room for another bot on the same token.
    capacity_limit_per_minute: int | None = Field(default=None, ge=1, le=600_000)
    messages_dir: Path | None = None  # None: the catalog shipped with the bot
    # A symptom reported in this many of the last SYMPTOM_REPEAT_WINDOW check-ins gets a
    # suggestion to talk to a healthcare provider (at most once a week).
    symptom_repeat_count: int = Field(default=3, ge=1, le=30)
    symptom_repeat_window: int = Field(default=7, ge=1, le=30)
    # The after-use plan (/took, "I just took some"): this many water nudges, this many
    # minutes apart, only those inside the user's waking hours.
    plan_nudges: int = Field(default=4, ge=1, le=12)
    plan_interval_minutes: int = Field(default=60, ge=15, le=240)
    log_format: Literal["text", "json"] = "text"
    # A user who blocked the bot is erased this many days later (0: kept until they /delete).
    erase_blocked_after_days: int = Field(default=30, ge=0, le=3650)
    # Set: every replica takes its Telegram turns from one budget in this Redis (redis://...).
    redis_url: str | None = Field(default=None, repr=False)
    # Paid broadcasts: reminders carry allow_paid_broadcast and the limit is 1,000 a second.
    telegram_paid_broadcast: bool = False
    # Telegram user ids that may use /stats; comma-separated in the environment.
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # Set: Telegram posts updates to this https URL (no polling); WEBHOOK_SECRET is then required.
    webhook_url: str | None = None
    # Checked even when unset (validate_default): it is required once WEBHOOK_URL is set.
    webhook_secret: str | None = Field(default=None, repr=False, validate_default=True)
    # Where /healthz, /metrics and the webhook are served; no port: none in polling mode.
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("messages_dir")
    @classmethod
    def _messages_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "sources.yaml").is_file():
            raise ValueError("must be a folder with sources.yaml and en/ (a copy of messages/)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value.strip()

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

    @field_validator("capacity_limit_per_minute", mode="before")
    @classmethod
    def _capacity_limit(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = urlsplit(value.strip())
        if url.scheme != "https" or not url.hostname or url.query or url.fragment:
            raise ValueError("must be an https:// URL without ?query or #fragment, "
                             "e.g. https://bot.example.org/telegram")
        if url.path.rstrip("/") in ("/healthz", "/metrics"):
            raise ValueError("must not end in /healthz or /metrics (the bot serves those)")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip() if value is not None and value.strip() else None
        if value is None:
            if info.data.get("webhook_url"):
                raise ValueError("must be set when WEBHOOK_URL is (1–256 characters: "
                                 "A-Z, a-z, 0-9, _ and -)")
            return None
        if not _SECRET_RE.match(value):
            raise ValueError("must be 1–256 characters: A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("http_port", mode="before")
    @classmethod
    def _http_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def served_port(self) -> int | None:
        """The port of the HTTP server: HTTP_PORT, else 8080 with a webhook, else none."""
        if self.http_port is not None:
            return self.http_port
        return DEFAULT_WEBHOOK_PORT if self.webhook_url else None

    @property
    def webhook_path(self) -> str:
        """The path the webhook is served on: WEBHOOK_URL's ("/" when it has none)."""
        return urlsplit(self.webhook_url or "").path or "/"

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
