"""Builds the PTB Application: handlers, rate limiter, the dispatcher job, start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ApplicationBuilder

from reminderbot import handlers, zones
from reminderbot.catalog import Catalog, default_messages_dir, load_catalog
from reminderbot.clock import Clock, SystemClock
from reminderbot.config import ConfigError, Settings
from reminderbot.context import CONTEXT_TYPES, BotContext
from reminderbot.db.migrate import upgrade
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.dispatch import Dispatcher
from reminderbot.errorlog import ERRORS_KEY, NetworkErrorLog
from reminderbot.handlers.info import bot_commands
from reminderbot.inflight import SENDS_KEY, SendGate
from reminderbot.leader import LeaderPolling, Leadership, leadership_for
from reminderbot.maintenance import INTERVAL as MAINTENANCE_INTERVAL
from reminderbot.maintenance import erase_blocked
from reminderbot.metrics import instrument, set_forecast
from reminderbot.orphans import give_back_orphans
from reminderbot.ratelimit import TelegramRateLimiter, overall_per_second
from reminderbot.respread import INTERVAL as CAPACITY_INTERVAL
from reminderbot.respread import refresh as refresh_capacity
from reminderbot.runtime import RUNTIME_KEY, Runtime
from reminderbot.sharedbudget import shared_budget_for
from reminderbot.telegramhttp import TelegramRequest
from reminderbot.typedtext import load_word_lists
from reminderbot.updates import FLOOD_ANSWER, FLOOD_GROUP, FloodWatch, PerChatUpdateProcessor

log = logging.getLogger(__name__)

DISPATCH_INTERVAL_SECONDS = 5.0
# The daily maintenance job first runs this long after the start, then once a day.
MAINTENANCE_FIRST_SECONDS = 60.0
DISPATCHER_KEY = "reminderbot.dispatcher"
# The regular ticks' interval, and the lock that keeps a wake-up tick from overlapping one.
_INTERVAL_KEY = "reminderbot.dispatch_interval"
_TICKING_KEY = "reminderbot.ticking"
# This replica's part in the leader election (None: it leads alone), in ``bot_data``.
LEADER_KEY = "reminderbot.leadership"

BotApplication = Application[Any, Any, Any, Any, Any, Any]

# Every repeating job: a late run still runs (no grace limit); missed runs collapse; never two
# at once.
_ONE_AT_A_TIME = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


def build_runtime(
    settings: Settings, *, catalog: Catalog | None = None, clock: Clock | None = None
) -> Runtime:
    """The shared services for one process."""
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        catalog=catalog if catalog is not None else load_catalog(settings.messages_dir),
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock if clock is not None else SystemClock(),
        words=load_word_lists(settings.messages_dir or default_messages_dir()),
    )


def file_url_for(base_url: str) -> str:
    """The file-download base that goes with a Bot API base URL (``…/bot`` → ``…/file/bot``)."""
    root = base_url.removesuffix("/bot")
    return f"{root}/file/bot" if root != base_url else base_url


def build_application(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    clock: Clock | None = None,
    dispatch_interval: float = DISPATCH_INTERVAL_SECONDS,
    chat_interval: float = 1.0,
) -> BotApplication:
    """The whole bot, ready for ``run_polling`` (or ``running`` in tests and ``try``).

    ``chat_interval`` is the least time between two messages to one chat (Telegram: 1 s).
    """
    runtime = build_runtime(settings, catalog=catalog, clock=clock)
    sends = SendGate()
    # Flood windows count in the bot's own time, so that tests move them with the clock.
    flood = FloodWatch(clock=lambda: runtime.clock.now().timestamp())
    # Several replicas: one Telegram budget in Redis, or one leader that sends and polls.
    per_second = overall_per_second(settings.telegram_paid_broadcast)
    shared = shared_budget_for(settings, per_second, chat_interval)
    leadership = leadership_for(settings)
    application: BotApplication = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_url_for(settings.telegram_api_base_url))
        # Deliberate timeouts; a call is retried only when it never reached Telegram.
        .request(TelegramRequest())
        .rate_limiter(TelegramRateLimiter(
            chat_interval=chat_interval, per_second=per_second, gate=sends,
            shared=shared,
        ))
        # getUpdates goes out only from the replica that leads (see reminderbot.leader).
        .get_updates_request(LeaderPolling(leadership))
        # Many users at once, each user's updates in order; floods answered once, then cut.
        .concurrent_updates(PerChatUpdateProcessor(flood))
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    dispatcher = Dispatcher(runtime, sends=sends)
    errors = NetworkErrorLog()
    application.bot_data[RUNTIME_KEY] = runtime
    application.bot_data[DISPATCHER_KEY] = dispatcher
    application.bot_data[_INTERVAL_KEY] = dispatch_interval
    application.bot_data[_TICKING_KEY] = asyncio.Lock()
    application.bot_data[SENDS_KEY] = sends
    application.bot_data[ERRORS_KEY] = errors
    application.bot_data[LEADER_KEY] = leadership
    instrument(application, runtime, dispatcher)
    application.add_handler(FLOOD_ANSWER, group=FLOOD_GROUP)
    # Before handlers.errors.on_error: polling and network errors end here as one line.
    application.add_error_handler(errors.on_error)
    handlers.register(application)
    assert application.job_queue is not None
    # A repeating job's first run is one interval after the job queue starts (APScheduler
    # counts from when the job was added, before that, and skips to the next interval).
    application.job_queue.run_repeating(
        _dispatch_tick,
        interval=dispatch_interval,
        first=dispatch_interval,
        name="dispatch",
        job_kwargs=dict(_ONE_AT_A_TIME),
    )
    application.job_queue.run_repeating(
        _maintenance,
        interval=MAINTENANCE_INTERVAL,
        first=MAINTENANCE_FIRST_SECONDS,
        name="maintenance",
        job_kwargs=dict(_ONE_AT_A_TIME),
    )
    # The load forecast and the adaptive spread: at start-up (a one-off job: a date in the
    # past still runs), then every 15 minutes.
    application.job_queue.run_once(_capacity, when=0, name="capacity-start",
                                   job_kwargs={"misfire_grace_time": None})
    application.job_queue.run_repeating(
        _capacity,
        interval=CAPACITY_INTERVAL,
        first=CAPACITY_INTERVAL,
        name="capacity",
        job_kwargs=dict(_ONE_AT_A_TIME),
    )
    return application


@asynccontextmanager
async def running(application: BotApplication, *, poll_timeout: int = 10) -> AsyncIterator[None]:
    """Run the bot inside the current event loop (what ``run_polling`` does, step by step).

    Used by the tests and by ``reminderbot try``; updates waiting at Telegram are kept.
    """
    await application.initialize()
    assert application.post_init is not None and application.updater is not None
    try:
        await application.post_init(application)
        errors = application.bot_data[ERRORS_KEY]
        assert isinstance(errors, NetworkErrorLog)
        await application.updater.start_polling(
            poll_interval=0,
            timeout=poll_timeout,
            drop_pending_updates=False,
            allowed_updates=Update.ALL_TYPES,
            # One line per polling error (PTB backs off between tries, up to 30 s).
            error_callback=errors.polling_error,
        )
        await application.start()
        try:
            yield
        finally:
            application.bot_data[DISPATCHER_KEY].stop()  # a running tick ends soon
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


@asynccontextmanager
async def webhook_running(
    application: BotApplication, url: str, secret: str
) -> AsyncIterator[None]:
    """Run the bot fed by Telegram's webhook: ``running`` without polling.

    The webhook is registered with ``secret`` on every start (the URL or the secret may have
    changed); updates Telegram holds are kept. The web app (``web.py``) feeds the update queue.
    """
    await application.initialize()
    assert application.post_init is not None
    try:
        await application.post_init(application)
        try:
            await application.bot.set_webhook(
                url, secret_token=secret, allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        except BadRequest as exc:
            raise ConfigError(f"WEBHOOK_URL was refused by Telegram ({exc.message})") from None
        await application.start()
        try:
            yield
        finally:
            application.bot_data[DISPATCHER_KEY].stop()  # a running tick ends soon
            if application.running:
                await application.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def _dispatch_tick(context: BotContext) -> None:
    dispatcher = context.bot_data[DISPATCHER_KEY]
    assert isinstance(dispatcher, Dispatcher)
    leadership = context.bot_data.get(LEADER_KEY)
    if isinstance(leadership, Leadership) and leadership.sends and not leadership.is_leader:
        return  # the leading replica sends (no shared budget): claim nothing
    ticking = context.bot_data[_TICKING_KEY]
    if ticking.locked():
        return  # the tick under way plans the next wake-up when it ends
    clock = context.runtime.clock
    async with ticking:
        # Rows that fell due while a tick ran get the next tick at once, here: a wake-up job
        # scheduled from inside this one could find it still running and be dropped.
        while True:
            started = clock.now()
            await dispatcher.tick(context.bot)
            due = await dispatcher.next_wake(started)
            if dispatcher.stopping or due is None or due > clock.now():
                break
    if not dispatcher.stopping:
        _wake_at(context, due)


def _wake_at(context: BotContext, due: datetime | None) -> None:
    """Tick again at ``due`` when it comes before the next regular tick: a reminder then goes
    out when due, not up to an interval late."""
    application: BotApplication = context.application
    jobs = application.job_queue
    assert jobs is not None
    wait = (due - context.runtime.clock.now()).total_seconds() if due is not None else math.inf
    if wait < context.bot_data[_INTERVAL_KEY]:
        jobs.run_once(
            _dispatch_tick, when=max(0.0, wait), name="dispatch-wake",
            # A wake-up may fire while the one that planned it is still returning: it must
            # not be dropped as a second instance (the lock above keeps ticks apart).
            job_kwargs={"id": "dispatch-wake", "replace_existing": True,
                        "misfire_grace_time": None, "max_instances": 3},
        )


async def _maintenance(context: BotContext) -> None:
    runtime = context.runtime
    await erase_blocked(runtime.sessions, runtime.clock.now(),
                        runtime.settings.erase_blocked_after_days)


async def _capacity(context: BotContext) -> None:
    runtime = context.runtime
    forecast = await refresh_capacity(runtime, runtime.clock.now())
    # /metrics: the busiest minute as the bot will send it, and the limit it is held against.
    set_forecast(context.application, max(forecast.planned.values(), default=0), forecast.limit)


async def _post_init(application: BotApplication) -> None:
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    await upgrade(runtime.engine)
    # A process of this host killed mid-burst: its claimed rows go now, not at lease end.
    await give_back_orphans(runtime.sessions, runtime.clock.now())
    leadership = application.bot_data.get(LEADER_KEY)
    if isinstance(leadership, Leadership):
        await leadership.start()
    # The city index takes a second or two to build: before the first update, not during it.
    await asyncio.to_thread(zones.warm_up)
    try:
        # The default menu in English, and one per catalog language for its speakers.
        await application.bot.set_my_commands(bot_commands(runtime.catalog))
        for language in runtime.catalog.languages:
            await application.bot.set_my_commands(
                bot_commands(runtime.catalog, language), language_code=language
            )
    except TelegramError as exc:
        log.warning(
            "could not register the command list with Telegram (%s); carrying on",
            type(exc).__name__,
        )


async def _post_shutdown(application: BotApplication) -> None:
    runtime: Runtime = application.bot_data[RUNTIME_KEY]
    leadership = application.bot_data.get(LEADER_KEY)
    if isinstance(leadership, Leadership):
        await leadership.stop()  # another replica takes over at its next try
    await runtime.engine.dispose()
