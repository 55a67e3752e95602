"""Prometheus metrics of one running bot, for ``GET /metrics``.

Each Application has its own registry (``instrument``), so that several bots in one process
(the tests) never share a count. What is counted:

- ``reminderbot_reminders_total{kind,outcome}``: claimed reminders by outcome (``sent``,
  ``uncertain``, ``skipped_late``, ``skipped_glass``, ``retry``, ``deactivated``, ``failed``);
- ``reminderbot_reminder_lateness_seconds{kind}``: sent reminders, from due to counted as sent;
- ``reminderbot_opted_in_users``: users who said yes and have not stopped (counted per scrape);
- ``reminderbot_updates_total{result}``: updates from Telegram, ``handled`` or ``dropped``
  (a flood);
- ``reminderbot_reply_seconds``: an update handed to the bot until its handling is done
  (its reply sent);
- ``reminderbot_telegram_429_total``: 429 Too Many Requests answers from Telegram;
- ``reminderbot_forecast_peak_sends_per_minute`` and ``reminderbot_send_limit_per_minute``:
  the capacity forecast, set with :func:`set_forecast` by whoever computes it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application

from reminderbot.db.models import ScheduleKind, User, UserStatus
from reminderbot.dispatch import Dispatcher, Due, Outcome
from reminderbot.ratelimit import TelegramRateLimiter
from reminderbot.runtime import Runtime
from reminderbot.updates import PerChatUpdateProcessor

log = logging.getLogger(__name__)

METRICS_KEY = "reminderbot.metrics"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Up to the 30 minutes after which a reminder is skipped as late.
LATENESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800)
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
# A scrape does not wait longer than this for the opted-in count (it keeps the last one).
COUNT_TIMEOUT_SECONDS = 5.0
# Opted in: said yes and did not stop (a paused user is still in).
OPTED_IN = (UserStatus.ACTIVE, UserStatus.PAUSED)

# The *_created samples only repeat the process start time for every series.
disable_created_metrics()  # type: ignore[no-untyped-call]

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class Metrics:
    """One bot's metrics in their own registry; the hooks below are what the bot calls."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = CollectorRegistry()
        registry = self.registry
        self.reminders = Counter(
            "reminderbot_reminders", "Claimed reminders by kind and outcome.",
            ["kind", "outcome"], registry=registry,
        )
        self.lateness = Histogram(
            "reminderbot_reminder_lateness_seconds",
            "Sent reminders: seconds from due to counted as sent.",
            ["kind"], buckets=LATENESS_BUCKETS, registry=registry,
        )
        self.opted_in = Gauge(
            "reminderbot_opted_in_users", "Users who said yes and have not stopped.",
            registry=registry,
        )
        self.updates = Counter(
            "reminderbot_updates", "Updates from Telegram: handled, or dropped (a flood).",
            ["result"], registry=registry,
        )
        self.reply = Histogram(
            "reminderbot_reply_seconds",
            "Seconds from an update handed to the bot to its handling done (reply sent).",
            buckets=REPLY_BUCKETS, registry=registry,
        )
        self.retry_after = Counter(
            "reminderbot_telegram_429", "429 Too Many Requests answers from Telegram.",
            registry=registry,
        )
        self.forecast_peak = Gauge(
            "reminderbot_forecast_peak_sends_per_minute",
            "Forecast: the most sends due in one minute over the next 24 hours.",
            registry=registry,
        )
        self.limit = Gauge(
            "reminderbot_send_limit_per_minute", "Sends Telegram allows the bot in a minute.",
            registry=registry,
        )
        # Every series a dashboard expects is there from the start, at 0.
        for kind in ScheduleKind:
            for outcome in Outcome:
                self.reminders.labels(kind.value, outcome.value)
        for result in ("handled", "dropped"):
            self.updates.labels(result)

    def reminder_counted(self, due: Due, outcome: Outcome) -> None:
        """A claimed reminder's outcome (the dispatcher's hook)."""
        kind = str(due.schedule.kind)
        self.reminders.labels(kind, outcome.value).inc()
        if outcome is Outcome.SENT:
            late = (self.runtime.clock.now() - due.due_at).total_seconds()
            self.lateness.labels(kind).observe(max(late, 0.0))

    def update_done(self, handled: bool, seconds: float) -> None:
        """An update handled (with its time) or dropped (the update processor's hook)."""
        self.updates.labels("handled" if handled else "dropped").inc()
        if handled:
            self.reply.observe(seconds)

    def telegram_429(self) -> None:
        """Telegram answered 429 Too Many Requests (the rate limiter's hook)."""
        self.retry_after.inc()

    def set_forecast(self, peak_per_minute: int, limit_per_minute: int) -> None:
        """The forecast's busiest minute and the limit it is measured against."""
        self.forecast_peak.set(peak_per_minute)
        self.limit.set(limit_per_minute)

    async def refresh(self) -> None:
        """Count what is read at scrape time (opted-in users); kept as it was on a failure."""
        try:
            async with asyncio.timeout(COUNT_TIMEOUT_SECONDS), self.runtime.sessions() as session:
                count = await session.scalar(
                    select(func.count()).select_from(User).where(User.status.in_(OPTED_IN))
                )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("metrics: could not count opted-in users (%s)", type(exc).__name__)
            return
        self.opted_in.set(count or 0)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def instrument(
    application: AnyApplication, runtime: Runtime, dispatcher: Dispatcher
) -> Metrics:
    """Give ``application`` its metrics and connect the hooks that feed them."""
    metrics = Metrics(runtime)
    application.bot_data[METRICS_KEY] = metrics
    dispatcher.observe = metrics.reminder_counted
    processor = application.update_processor
    if isinstance(processor, PerChatUpdateProcessor):
        processor.observe = metrics.update_done
    limiter = getattr(application.bot, "rate_limiter", None)
    if isinstance(limiter, TelegramRateLimiter):
        limiter.on_retry_after = metrics.telegram_429
    return metrics


def metrics_of(application: AnyApplication) -> Metrics:
    """The metrics ``instrument`` gave ``application``."""
    metrics = application.bot_data[METRICS_KEY]
    assert isinstance(metrics, Metrics)
    return metrics


def set_forecast(application: AnyApplication, peak_per_minute: int, limit_per_minute: int) -> None:
    """Export the capacity forecast: the busiest minute's due sends and the per-minute limit.

    For the forecast's code (``reminderbot/capacity.py``): call it whenever it recomputes.
    """
    metrics_of(application).set_forecast(peak_per_minute, limit_per_minute)
