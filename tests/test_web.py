"""The HTTP side: Telegram's webhook (secret checked), /healthz and /metrics, in process and
through a real `reminderbot run`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from reminderbot.app import BotApplication, build_application, webhook_running
from reminderbot.clock import ManualClock
from reminderbot.config import ConfigError, load_settings
from reminderbot.leader import LEADER_LOCK
from reminderbot.metrics import set_forecast
from reminderbot.runtime import RUNTIME_KEY
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser
from reminderbot.web import SECRET_HEADER, web_app
from tests.conftest import START, TOKEN, BotUnderTest, _asyncpg_dsn, bot_settings
from tests.test_run_process import start_bot

WEBHOOK_URL = "https://bot.example.org/telegram"
SECRET = "s3cret-Token_of-the-webhook"
NINE = START.replace(hour=9)
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def http(application: BotApplication, **options: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the bot's web app in process."""
    transport = httpx.ASGITransport(app=web_app(application, **options))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield client


def metric_lines(body: str) -> set[str]:
    return {line for line in body.splitlines() if not line.startswith("#")}


async def test_webhook_refuses_a_wrong_or_missing_secret_and_answers_with_the_right_one(
    api: BotAPIStandIn, database_url: str
) -> None:
    settings = bot_settings(api, database_url, webhook_url=WEBHOOK_URL, webhook_secret=SECRET)
    application = build_application(settings, clock=ManualClock(START), dispatch_interval=3600,
                                    chat_interval=0)
    user = FakeUser(id=515151, first_name="Ada", language_code="en")
    await api.send_message(user, "/help")
    [early] = api.take_updates()
    right = {SECRET_HEADER: SECRET}
    async with http(application, webhook_path="/telegram", secret=SECRET) as client:
        # Before the bot runs: Telegram is told to try again later, nothing is queued.
        assert (await client.post("/telegram", json=early, headers=right)).status_code == 503
    assert application.update_queue.empty()
    async with webhook_running(application, WEBHOOK_URL, SECRET), \
            http(application, webhook_path="/telegram", secret=SECRET) as client:
        assert api.webhook is not None
        assert (api.webhook["url"], api.webhook["secret_token"]) == (WEBHOOK_URL, SECRET)
        await api.send_message(user, "/help")
        [forged] = api.take_updates()
        assert (await client.post("/telegram", json=forged)).status_code == 403
        wrong = {SECRET_HEADER: SECRET[:-1]}
        assert (await client.post("/telegram", json=forged, headers=wrong)).status_code == 403
        garbage = await client.post("/telegram", content=b"not json", headers=right)
        assert garbage.status_code == 400
        await api.send_message(user, "/start")
        [update] = api.take_updates()
        assert (await client.post("/telegram", json=update, headers=right)).status_code == 200
        [welcome] = await api.wait_for_messages(user.id, 1, timeout=10)
        await api.wait_until_idle(quiet=0.3)
        # Only /start was handled: the /help that came without the secret never was.
        assert api.messages_to(user.id) == [welcome]
        metrics = (await client.get("/metrics")).text
    assert 'reminderbot_updates_total{result="handled"} 1.0' in metric_lines(metrics)

    # The same /start by long polling gets the same answer.
    polling = BotUnderTest(api, bot_settings(api, database_url), ManualClock(START),
                           dispatch_interval=3600)
    await polling.start()
    try:
        assert api.webhook is None  # polling deleted the webhook first
        [polled] = await polling.send("/start")
    finally:
        await polling.stop()
    assert (welcome.plain_text, welcome.buttons) == (polled.plain_text, polled.buttons)


async def test_a_webhook_telegram_refuses_is_one_line_naming_webhook_url(
    api: BotAPIStandIn, tmp_path: Path
) -> None:
    settings = bot_settings(api, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
                            webhook_url=WEBHOOK_URL, webhook_secret=SECRET)
    application = build_application(settings, clock=ManualClock(START), dispatch_interval=3600)
    api.fail_next("setWebhook", status=400,
                  description="Bad Request: bad webhook: Failed to resolve host")
    with pytest.raises(ConfigError) as error:
        async with webhook_running(application, WEBHOOK_URL, SECRET):
            pass
    assert str(error.value) == (
        "WEBHOOK_URL was refused by Telegram (Bad webhook: failed to resolve host)"
    )
    assert api.webhook is None and not application.running


async def test_health_is_200_for_a_running_bot_and_503_with_the_reason(bot: BotUnderTest) -> None:
    assert bot.application is not None
    await bot.at(START)  # a tick
    async with http(bot.application) as client:
        answer = await client.get("/healthz")
        assert (answer.status_code, answer.text) == (200, "ok\n")
    async with http(bot.application, stale_after=0.0) as client:
        answer = await client.get("/healthz")
    assert answer.status_code == 503
    assert answer.text.startswith("dispatcher has not ticked for ")
    assert answer.text.endswith(" s\n") and answer.text.count("\n") == 1


async def test_a_replica_standing_by_is_healthy(api: BotAPIStandIn, postgres_url: str) -> None:
    # Another replica leads (holds the lock): without Redis this one sends nothing.
    leader = await asyncpg.connect(_asyncpg_dsn(postgres_url))
    try:
        assert await leader.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK)
        standby = BotUnderTest(api, bot_settings(api, postgres_url), ManualClock(START),
                               dispatch_interval=3600)
        await standby.start()
        try:
            async with http(standby.application) as client:  # type: ignore[arg-type]
                answer = await client.get("/healthz")
            assert standby.dispatcher.last_tick is None  # it never claimed
        finally:
            await standby.stop()
    finally:
        await leader.close()
    assert (answer.status_code, answer.text) == (200, "ok: standing by, another replica sends\n")


async def test_health_before_the_first_tick_and_without_a_database(
    api: BotAPIStandIn, database_url: str, tmp_path: Path
) -> None:
    idle = build_application(bot_settings(api, database_url))  # built, never started
    try:
        async with http(idle) as client:
            answer = await client.get("/healthz")
    finally:
        await idle.bot_data[RUNTIME_KEY].engine.dispose()
    assert (answer.status_code, answer.text) == (503, "dispatcher has not ticked yet\n")

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        gone, error = url.set(database=str(tmp_path / "no-such-folder" / "bot.db")), \
            "OperationalError"
    else:
        gone, error = url.set(database="reminderbot_no_such_database"), "InvalidCatalogNameError"
    lost = build_application(bot_settings(api, gone.render_as_string(hide_password=False)))
    try:
        async with http(lost) as client:
            answer = await client.get("/healthz")
    finally:
        await lost.bot_data[RUNTIME_KEY].engine.dispose()
        await sqlite_threads_ended()
    assert (answer.status_code, answer.text) == (503, f"database unreachable ({error})\n")


async def sqlite_threads_ended(timeout: float = 5.0) -> None:
    """Wait for aiosqlite's connection threads: one whose open failed ends a moment later, and
    must not outlive the test's event loop."""
    for _ in range(int(timeout / 0.01)):
        if not any("_connection_worker_thread" in t.name for t in threading.enumerate()):
            return
        await asyncio.sleep(0.01)


async def test_metrics_count_a_reminder_sent_after_a_429(bot: BotUnderTest) -> None:
    assert bot.application is not None
    await bot.opt_in()
    bot.api.fail_next("sendMessage", status=429, retry_after=1, chat_id=bot.user.id)
    _, [reminder] = await bot.at(NINE)
    assert reminder.button_texts()[0] == "Done 💧"
    _, skipped = await bot.at(NINE.replace(hour=12, minute=45))  # over 30 min late: skipped
    assert skipped == []
    async with http(bot.application) as client:
        answer = await client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=")
    lines = metric_lines(answer.text)
    handled = float(len(bot.handled))
    for line in [
        'reminderbot_reminders_total{kind="hydration",outcome="sent"} 1.0',
        'reminderbot_reminders_total{kind="hydration",outcome="skipped_late"} 1.0',
        'reminderbot_reminders_total{kind="hydration",outcome="failed"} 0.0',
        'reminderbot_reminders_total{kind="checkin",outcome="sent"} 0.0',
        # Sent at its due time (the test's clock stands still while it is sent); the skipped
        # one is no lateness.
        'reminderbot_reminder_lateness_seconds_bucket{kind="hydration",le="0.5"} 1.0',
        'reminderbot_reminder_lateness_seconds_count{kind="hydration"} 1.0',
        "reminderbot_opted_in_users 1.0",
        f'reminderbot_updates_total{{result="handled"}} {handled}',
        'reminderbot_updates_total{result="dropped"} 0.0',
        f"reminderbot_reply_seconds_count {handled}",
        "reminderbot_telegram_429_total 1.0",
    ]:
        assert line in lines, line
    # The capacity forecast (set by its own job, see reminderbot.metrics.set_forecast).
    exported = {line.split(" ")[0] for line in lines}
    assert {"reminderbot_forecast_peak_sends_per_minute",
            "reminderbot_send_limit_per_minute"} <= exported
    set_forecast(bot.application, 2100, 1800)
    async with http(bot.application) as client:
        lines = metric_lines((await client.get("/metrics")).text)
    assert "reminderbot_forecast_peak_sends_per_minute 2100.0" in lines
    assert "reminderbot_send_limit_per_minute 1800.0" in lines
    assert handled == 2.0  # /start and "Yes, remind me"


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"webhook_url": WEBHOOK_URL},
         "WEBHOOK_SECRET must be set when WEBHOOK_URL is (1–256 characters: A-Z, a-z, 0-9, _ "
         "and -)"),
        ({"webhook_url": WEBHOOK_URL, "webhook_secret": "no spaces"},
         "WEBHOOK_SECRET must be 1–256 characters: A-Z, a-z, 0-9, _ and -"),
        ({"webhook_url": "http://bot.example.org/telegram", "webhook_secret": SECRET},
         "WEBHOOK_URL must be an https:// URL without ?query or #fragment, e.g. "
         "https://bot.example.org/telegram"),
        ({"http_port": "70000"}, "HTTP_PORT: Input should be less than or equal to 65535"),
    ],
)
def test_webhook_settings_are_checked(env: dict[str, str], line: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(telegram_bot_token=TOKEN, **env)
    assert str(error.value) == line


def test_http_port_defaults() -> None:
    assert load_settings(telegram_bot_token=TOKEN).served_port is None  # polling: no server
    webhook = load_settings(telegram_bot_token=TOKEN, webhook_url=WEBHOOK_URL,
                            webhook_secret=SECRET)
    assert (webhook.served_port, webhook.webhook_path) == (8080, "/telegram")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def get_when_up(url: str, timeout: float = 30.0) -> httpx.Response:
    """GET ``url`` once the process serves it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                return await client.get(url, timeout=5)
            except httpx.TransportError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def compose_health_check(port: int) -> int:
    """Run the bot's health check from docker-compose.yml; its exit status."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    kind, *command = compose["services"]["bot"]["healthcheck"]["test"]
    assert kind == "CMD" and command[0] == "python"
    env = {**os.environ, "HTTP_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(process.wait(), 30)


def test_the_image_checks_health_as_compose_does() -> None:
    """The Dockerfile's HEALTHCHECK is the command the run test below executes."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [line for line in dockerfile.splitlines() if line.startswith("HEALTHCHECK ")]
    command = json.loads(line.split(" CMD ", 1)[1])
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert ["CMD", *command] == compose["services"]["bot"]["healthcheck"]["test"]


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM; the process's stderr once it has ended."""
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    return stderr.decode()


async def test_run_serves_health_and_metrics_beside_polling(
    tmp_path: Path, api: BotAPIStandIn
) -> None:
    port = free_port()
    process = await start_bot(tmp_path, TELEGRAM_BOT_TOKEN=api.token,
                              TELEGRAM_API_BASE_URL=api.base_url, HTTP_PORT=str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        health = await get_when_up(f"{base}/healthz")
        if health.status_code == 503:  # while the bot starts, until the first tick
            assert health.text == "dispatcher has not ticked yet\n"
        while health.status_code != 200 and process.returncode is None:
            await asyncio.sleep(0.1)
            health = await get_when_up(f"{base}/healthz")
        assert (health.status_code, health.text) == (200, "ok\n")
        assert (await compose_health_check(port)) == 0
        user = FakeUser(id=616161)
        await api.send_message(user, "/help")  # polling goes on beside the HTTP server
        await api.wait_for_messages(user.id, 1, timeout=30)
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{base}/metrics")).text
        assert "reminderbot_opted_in_users 0.0" in metric_lines(metrics)
    finally:
        log = await stop(process)
    assert process.returncode == 0, log[-2000:]
    assert "Traceback" not in log
    assert f"serving /healthz and /metrics on 127.0.0.1:{port}" in log
    assert (await compose_health_check(port)) == 1  # stopped: unhealthy


async def test_run_with_a_webhook_registers_it_and_answers_what_telegram_posts(
    tmp_path: Path, api: BotAPIStandIn
) -> None:
    port = free_port()
    process = await start_bot(tmp_path, TELEGRAM_BOT_TOKEN=api.token,
                              TELEGRAM_API_BASE_URL=api.base_url, HTTP_PORT=str(port),
                              WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_SECRET=SECRET)
    try:
        await get_when_up(f"http://127.0.0.1:{port}/healthz")
        user = FakeUser(id=717171)
        await api.send_message(user, "/help")
        async with httpx.AsyncClient() as client:
            for _ in range(300):  # the webhook is registered once the bot has started
                if api.webhook is not None:
                    break
                await asyncio.sleep(0.1)
            assert api.webhook is not None and api.webhook["secret_token"] == SECRET
            [update] = api.take_updates()
            posted = await client.post(f"http://127.0.0.1:{port}/telegram", json=update,
                                       headers={SECRET_HEADER: SECRET})
        assert posted.status_code == 200
        [reply] = await api.wait_for_messages(user.id, 1, timeout=30)
        assert "/sideeffects" in reply.plain_text
        assert not [c for c in api.calls if c.method == "getUpdates"]  # no polling
    finally:
        log = await stop(process)
    assert process.returncode == 0, log[-2000:]
    assert "Traceback" not in log and SECRET not in log


async def test_run_with_the_port_taken_is_one_line(tmp_path: Path, api: BotAPIStandIn) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        process = await start_bot(tmp_path, TELEGRAM_BOT_TOKEN=api.token,
                                  TELEGRAM_API_BASE_URL=api.base_url, HTTP_PORT=str(port))
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert stderr.decode().strip().splitlines()[-1] == (
        f"reminderbot: cannot listen on HTTP_HOST:HTTP_PORT 127.0.0.1:{port} "
        "(Address already in use)"
    )
    assert not api.calls  # nothing started
