"""Issue "Your schedule, your data", end to end on SQLite and PostgreSQL: time zones, snooze,
pause and resume, /history, /mydata and /delete, Spanish, typed text, stop words."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from reminderbot.clock import ManualClock
from reminderbot.db.models import Base, User
from reminderbot.testing.botapi import BotAPIStandIn, FakeUser, SentMessage
from tests.conftest import START, BotUnderTest, bot_settings

NINE = START.replace(hour=9)
HYDRATION_BUTTONS = ["Done 💧", "Snooze 30 min", "I just took some"]
PNG = b"\x89PNG\r\n\x1a\n"


def lines(message: SentMessage) -> list[str]:
    """What the user reads, line by line."""
    return message.plain_text.splitlines()


@pytest.fixture
async def evening_bot(api: BotAPIStandIn, database_url: str) -> AsyncIterator[BotUnderTest]:
    """A bot on UTC whose clock starts on Tuesday 24 November at 20:00 UTC."""
    harness = BotUnderTest(api, bot_settings(api, database_url),
                           ManualClock(datetime(2026, 11, 24, 20, 0, tzinfo=UTC)),
                           dispatch_interval=3600)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_tokyo_and_berlin_each_get_their_nine_oclock(evening_bot: BotUnderTest) -> None:
    bot = evening_bot
    tokyo = FakeUser(id=81001, language_code="en")
    berlin = FakeUser(id=49001, language_code="en")
    for user in (tokyo, berlin):
        confirmation = await bot.opt_in_as(user)
        assert lines(confirmation)[2] == "First water reminder: 21:00"  # UTC until they answer
    [tokyo_set] = await bot.send("Tokyo", tokyo)
    assert lines(tokyo_set) == ["Time zone set to Asia/Tokyo: it is 05:00 for you now.",
                                "Reminders follow your local time from now on."]
    assert tokyo_set.button_texts() == ["Change time zone"]
    [berlin_set] = await bot.send("berlin", berlin)
    assert lines(berlin_set)[0] == "Time zone set to Europe/Berlin: it is 21:00 for you now."

    _, sent = await bot.at(datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC), tokyo)
    assert sent == [] and bot.api.messages_to(berlin.id)[-1] is berlin_set
    # 09:00 in Tokyo is midnight UTC.
    _, [tokyo_nine] = await bot.at(datetime(2026, 11, 25, 0, 0, tzinfo=UTC), tokyo)
    assert tokyo_nine.button_texts() == HYDRATION_BUTTONS
    assert bot.api.messages_to(berlin.id)[-1] is berlin_set
    _, sent = await bot.at(datetime(2026, 11, 25, 7, 59, 59, tzinfo=UTC), berlin)
    assert sent == []
    # 09:00 in Berlin (CET) is 08:00 UTC.
    _, [berlin_nine] = await bot.at(datetime(2026, 11, 25, 8, 0, tzinfo=UTC), berlin)
    assert berlin_nine.button_texts() == HYDRATION_BUTTONS
    # Glasses count on each user's own local day: 09:00 Tokyo is still the 24th in UTC.
    [thanks], _ = await bot.press(tokyo_nine, "Done 💧", tokyo)
    assert thanks.plain_text == "Thanks. Glasses logged today: 1"


async def test_offsets_locations_and_ambiguous_cities(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [offset] = await bot.send("UTC+7")
    assert lines(offset)[0] == "Time zone set to UTC+7: it is 15:00 for you now."
    [choose] = await bot.send("Springfield")
    assert choose.plain_text == (
        "There is more than one place with that name. Which one do you mean?"
    )
    assert len(choose.button_texts()) >= 2
    assert choose.button_texts()[0] == "Springfield, Missouri, US"
    [chosen], _ = await bot.press(choose, "Springfield, Missouri, US")
    assert lines(chosen)[0] == "Time zone set to America/Chicago: it is 02:00 for you now."
    before = len(bot.chat())
    await bot.api.send_location(bot.user, 35.68, 139.69)
    await bot.api.wait_until_idle(quiet=0.15)
    [located] = bot.chat()[before:]
    assert lines(located)[0] == "Time zone set to Asia/Tokyo: it is 17:00 for you now."
    # The next reminder follows at once: 18:00 in Tokyo is 09:00 UTC.
    _, [reminder] = await bot.at(NINE)
    assert reminder.button_texts() == HYDRATION_BUTTONS


async def test_the_zone_question_gives_an_example_until_a_command_closes_it(
    bot: BotUnderTest,
) -> None:
    await bot.opt_in()
    [hint] = await bot.send("Narnia")
    assert hint.plain_text.startswith("I couldn't find that place. Try a larger city nearby")
    await bot.send("/info")
    [pointer] = await bot.send("Narnia")
    assert pointer.plain_text == "Sorry, I didn't understand that. /help lists what I can do."


async def test_snooze_comes_once_more_and_later_slots_stay(bot: BotUnderTest) -> None:
    await bot.opt_in()
    _, [reminder] = await bot.at(NINE)
    [], answer = await bot.press(reminder, "Snooze 30 min")
    assert answer[1] == "OK, I'll ask again at 09:30."
    assert reminder.button_texts() == []
    _, sent = await bot.at(NINE + timedelta(minutes=29, seconds=59))
    assert sent == []
    _, [again] = await bot.at(NINE + timedelta(minutes=30))
    assert again.button_texts() == HYDRATION_BUTTONS
    assert again.plain_text == reminder.plain_text
    _, [checkin] = await bot.at(NINE.replace(hour=10))
    [], answer = await bot.press(checkin, "Snooze 30 min")
    assert answer[1] == "OK, I'll ask again at 10:30."
    _, [checkin_again] = await bot.at(NINE.replace(hour=10, minute=30))
    assert checkin_again.plain_text == checkin.plain_text
    _, [noon] = await bot.at(NINE.replace(hour=12))  # the schedule goes on as before
    assert noon.button_texts() == HYDRATION_BUTTONS
    _, sent = await bot.at(NINE.replace(hour=14))
    assert sent == []


async def test_a_pause_over_two_days_sends_nothing(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [paused] = await bot.send("/pause 2d")
    assert paused.plain_text == (
        "Reminders are paused until 2026-11-27 08:00. Send /resume to restart them sooner."
    )
    [menu] = await bot.send("/settings")
    assert lines(menu)[-1] == "Next reminder: paused until 2026-11-27 08:00"
    for hour in range(1, 48):
        report, sent = await bot.at(START + timedelta(hours=hour))
        assert sent == [] and report.claimed == 0, hour
    _, [back] = await bot.at(START + timedelta(days=2, hours=1))  # Friday 09:00
    assert back.button_texts() == HYDRATION_BUTTONS


async def test_pause_until_resume_then_resume_from_the_next_slot(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [ask] = await bot.send("/pause")
    assert ask.button_texts() == ["1 day", "1 week", "Until I /resume"]
    [paused], _ = await bot.press(ask, "Until I /resume")
    assert paused.plain_text == "Reminders are paused. Send /resume when you want them back."
    for hour in range(1, 52, 3):
        _, sent = await bot.at(START + timedelta(hours=hour))
        assert sent == []
    bot.clock.set(START + timedelta(days=2, hours=3))  # Friday 11:00
    [resumed] = await bot.send("/resume")
    assert resumed.plain_text == "Reminders are back on. Next one: 12:00."
    # Nothing for the slots missed while paused (Friday's 09:00 and 10:00).
    _, [noon] = await bot.at(START + timedelta(days=2, hours=4))
    assert noon.button_texts() == HYDRATION_BUTTONS
    [not_paused] = await bot.send("/resume")
    assert not_paused.plain_text == (
        "Your reminders are not paused. /pause pauses them, /settings changes them."
    )


async def test_a_bad_pause_length_gets_a_kind_reply(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [reply] = await bot.send("/pause forever and ever")
    assert reply.plain_text.startswith("I didn't understand how long. Try /pause 3d")
    assert reply.button_texts() == ["1 day", "1 week", "Until I /resume"]


async def test_history_is_a_picture_with_the_same_in_words(
    bot: BotUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    await bot.opt_in()
    [empty] = await bot.send("/history")
    assert empty.plain_text.startswith("Nothing logged in the last 14 days yet.")
    for day in range(3):
        _, [reminder] = await bot.at(NINE + timedelta(days=day))
        await bot.press(reminder, "Done 💧")
        _, [checkin] = await bot.at(NINE.replace(hour=10) + timedelta(days=day))
        await bot.press(checkin, "Headache" if day < 2 else "Fine")
    _, [noon] = await bot.at(NINE.replace(hour=12) + timedelta(days=2))
    await bot.press(noon, "Done 💧")
    await bot.api.wait_until_idle()
    count = len(bot.chat())
    await bot.api.send_message(bot.user, "/history")
    # Drawing happens off the event loop, so wait for the photo rather than for quiet.
    [picture] = (await bot.api.wait_for_messages(bot.user.id, count + 1))[count:]
    await bot.api.wait_until_idle()
    assert bot.chat()[count:] == [picture]
    assert picture.photo is not None and picture.photo.startswith(PNG)
    width, height = int.from_bytes(picture.photo[16:20]), int.from_bytes(picture.photo[20:24])
    assert (width, height) == (1080, 1350)
    assert lines(picture) == [
        "Your last 14 days",
        "Glasses of water logged: 4 (on 3 of 14 days)",
        "Check-ins answered: 3",
        "Reported: Headache ×2",
    ]
    saved = tmp_path_factory.getbasetemp() / "history.png"
    saved.write_bytes(picture.photo)


async def test_mydata_shows_everything_and_delete_erases_every_table(bot: BotUnderTest) -> None:
    await bot.opt_in()
    await bot.send("Berlin")  # 09:00 there
    _, [checkin] = await bot.at(NINE)  # 10:00 in Berlin
    await bot.press(checkin, "Nausea")
    _, [reminder] = await bot.at(NINE.replace(hour=11))  # 12:00 in Berlin
    await bot.press(reminder, "Done 💧")
    _, [reminder] = await bot.at(NINE.replace(hour=14))
    await bot.press(reminder, "Snooze 30 min")  # a pending one-shot row
    summary, document = await bot.send("/mydata")
    assert lines(summary) == [
        "What is stored about you",
        "Reminders since: 2026-11-25",
        "Status: reminders on",
        "Time zone: Europe/Berlin",
        "Water reminders: every 3 h",
        "Daily check-in: 10:00",
        "Glasses of water logged: 1 (on 1 days)",
        "Check-in answers: Nausea 1",
        "The attached file has all of it. /delete erases it.",
    ]
    assert document.filename == "mydata.json" and document.document is not None
    exported = json.loads(document.document)
    user_tables = {t.name for t in Base.metadata.sorted_tables if "user_id" in t.c} | {"users"}
    assert set(exported) == user_tables
    assert exported["users"][0]["telegram_user_id"] == bot.user.id
    assert len(exported["schedules"]) == 4  # three recurring rows and the snooze
    assert [a["answer"] for a in exported["checkin_answers"]] == ["nausea"]

    [confirm] = await bot.send("/delete")
    assert confirm.button_texts() == ["Yes, erase everything", "No, keep it"]
    [erased], _ = await bot.press(confirm, "Yes, erase everything")
    assert erased.plain_text.startswith("Everything is erased.")
    async with bot.dispatcher.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name != "users" and "user_id" not in table.c:
                continue  # aggregate counts with no user in them (statistics)
            rows = await session.scalar(select(func.count()).select_from(table))
            assert rows == 0, table.name
    [nothing] = await bot.send("/mydata")
    assert nothing.plain_text == "Nothing is stored about you."
    # A button from before the erasure stores nothing now.
    query_id = await bot.api.send_callback_data(bot.user, reminder, "hydration:done")
    assert (await bot.api.wait_for_callback_answer(query_id))[1] == (
        "This button is no longer active."
    )
    report, sent = await bot.at(NINE + timedelta(days=1))
    assert sent == [] and report.claimed == 0


async def test_stop_offers_a_pause_or_erasing_and_stop_words_work(bot: BotUnderTest) -> None:
    await bot.opt_in()
    [stopped] = await bot.send("STOP")
    assert lines(stopped)[0] == "All reminders are stopped, and nothing more will be sent."
    assert stopped.button_texts() == ["Pause a week instead", "Erase my data"]
    for hours in (1, 2, 26):
        _, sent = await bot.at(START + timedelta(hours=hours))
        assert sent == []
    [paused], _ = await bot.press(stopped, "Pause a week instead")
    assert paused.plain_text == (
        "Reminders are paused until 2026-12-03 10:00. Send /resume to restart them sooner."
    )
    _, sent = await bot.at(START + timedelta(days=7, hours=1))
    assert sent == []
    _, [back] = await bot.at(START + timedelta(days=8, hours=4))  # Thursday 12:00
    assert back.button_texts() == HYDRATION_BUTTONS
    [again] = await bot.send("unsubscribe")
    [confirm], _ = await bot.press(again, "Erase my data")
    assert confirm.button_texts() == ["Yes, erase everything", "No, keep it"]
    [kept], _ = await bot.press(confirm, "No, keep it")
    assert kept.plain_text == "Nothing was erased."


async def test_typed_distress_gets_help_at_once(bot: BotUnderTest) -> None:
    [emergency] = await bot.send("I can't breathe")
    assert lines(emergency)[0] == "If this is an emergency, call your local emergency number now."
    [chest] = await bot.send("chest pain!!")
    assert chest.plain_text == emergency.plain_text
    [support] = await bot.send("I want to quit")
    assert support.plain_text.startswith("Thanks for saying so. Wanting to cut down or stop")
    [help_reply] = await bot.send("help")
    assert help_reply.plain_text.splitlines()[-1] == (
        "Urgent help: if symptoms are severe, call your local emergency number."
    )
    assert await stored_users(bot) == 0  # nothing typed is stored


async def stored_users(bot: BotUnderTest) -> int:
    async with bot.dispatcher.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_a_spanish_speaker_gets_everything_in_spanish(bot: BotUnderTest) -> None:
    ana = FakeUser(id=34001, language_code="es-MX")
    [welcome] = await bot.send("/start", ana)
    assert welcome.button_texts() == ["Sí, recuérdame", "Solo información"]
    [confirmation, question, offer], _ = await bot.press(welcome, "Sí, recuérdame", ana)
    assert lines(confirmation) == [
        "Recordatorios activados.",
        "Te llegará un recordatorio de agua cada 3 horas dentro de tu horario del día, "
        "09:00–21:00.",
        "Primer recordatorio de agua: 09:00",
        "Pregunta diaria: 10:00",
        "Las horas van en la zona UTC. Envía /stop cuando quieras para terminarlo todo.",
    ]
    assert question.reply_markup is not None
    assert offer.button_texts() == ["🔒 Activarlo", "Dejarlo desactivado"]
    _, [reminder] = await bot.at(NINE, ana)
    assert reminder.button_texts() == ["Hecho 💧", "Posponer 30 min", "Acabo de tomar"]
    [thanks], _ = await bot.press(reminder, "Hecho 💧", ana)
    assert thanks.plain_text == "Gracias. Vasos anotados hoy: 1"
    [stopped] = await bot.send("parar", ana)
    assert stopped.button_texts()[0] == "Mejor pausar 1 semana"
