"""Every message key the code uses, with the placeholders each one takes.

The catalog in ``messages/`` must define exactly these keys with exactly these
placeholders; ``catalog.load_catalog`` checks it at start.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A message key and the names of the placeholders its text uses."""

    name: str
    params: frozenset[str] = frozenset()
    rotates: bool = False  # True: the entry holds several variants that take turns

    def __str__(self) -> str:
        return self.name


def _key(name: str, *params: str, rotates: bool = False) -> Key:
    # {emergency} is filled in from messages/emergency.yaml when the catalog loads.
    assert EMERGENCY_PLACEHOLDER not in params, f"{name}: {{emergency}} is not a parameter"
    key = Key(name, frozenset(params), rotates)
    ALL_KEYS[name] = key
    return key


def _discreet(base: Key) -> Key:
    """The discreet wording of ``base`` (same placeholders): no substance, no symptom."""
    key = _key(f"{base.name}{DISCREET_SUFFIX}", *base.params, rotates=base.rotates)
    DISCREET[base.name] = key
    return key


def discreet_of(key: Key) -> Key | None:
    """The discreet wording of ``key``, if the catalog has one."""
    return DISCREET.get(key.name)


ALL_KEYS: dict[str, Key] = {}
# Keys of messages the bot sends on its own, mapped to their discreet wording.
DISCREET: dict[str, Key] = {}
DISCREET_SUFFIX = "_discreet"
# Any entry may say {emergency}: the emergency (and poison-centre) number an operator filled in.
EMERGENCY_PLACEHOLDER = "emergency"

# start.yaml
WELCOME = _key("start.welcome")
WELCOME_ACTIVE = _key("start.already_active")
WELCOME_BACK = _key("start.welcome_back")
CONSENT_YES = _key("start.button_yes")
CONSENT_NO = _key("start.button_no")
RESUME_YES = _key("start.button_resume")
RESUME_NO = _key("start.button_not_now")
CONSENT_DONE = _key(
    "start.consent_done", "first_hydration", "checkin_time", "timezone", "every_hours",
    "waking_start", "waking_end",
)
CONSENT_DECLINED = _key("start.consent_declined")
DISCREET_OFFER = _key("start.discreet_offer")
DISCREET_BUTTON_ON = _key("start.button_discreet_on")
DISCREET_BUTTON_OFF = _key("start.button_discreet_off")
DISCREET_ON = _key("start.discreet_on")
DISCREET_OFF = _key("start.discreet_off")

# info.yaml: /info and /sideeffects are pages of one message, edited in place by its buttons
INFO = _key("info.body")
INFO_TOLERANCE = _key("info.tolerance")
INFO_GET_HELP = _key("info.get_help")
INFO_BUTTON_BASICS = _key("info.button_basics")
INFO_BUTTON_SIDEEFFECTS = _key("info.button_sideeffects")
INFO_BUTTON_WHAT_HELPS = _key("info.button_what_helps")
INFO_BUTTON_TOLERANCE = _key("info.button_tolerance")
INFO_BUTTON_GET_HELP = _key("info.button_get_help")

# sideeffects.yaml
SIDEEFFECTS = _key("sideeffects.body")
SIDEEFFECTS_WHAT_HELPS = _key("sideeffects.what_helps")

# help.yaml
HELP = _key("help.body")
COMMAND_START = _key("help.command_start")
COMMAND_INFO = _key("help.command_info")
COMMAND_SIDEEFFECTS = _key("help.command_sideeffects")
COMMAND_HELP = _key("help.command_help")
COMMAND_STOP = _key("help.command_stop")
COMMAND_SETTINGS = _key("help.command_settings")
COMMAND_TIMEZONE = _key("help.command_timezone")
COMMAND_PAUSE = _key("help.command_pause")
COMMAND_RESUME = _key("help.command_resume")
COMMAND_CHECKIN = _key("help.command_checkin")
COMMAND_HISTORY = _key("help.command_history")
COMMAND_PROVIDER = _key("help.command_provider")
COMMAND_MYDATA = _key("help.command_mydata")
COMMAND_DELETE = _key("help.command_delete")
COMMAND_TOOK = _key("help.command_took")

# stop.yaml
STOP_DONE = _key("stop.done")
STOP_NOTHING = _key("stop.nothing_to_stop")
STOP_BUTTON_PAUSE = _key("stop.button_pause_week")
STOP_BUTTON_ERASE = _key("stop.button_erase")

# hydration.yaml
HYDRATION_REMINDER = _key("hydration.reminder", rotates=True)
HYDRATION_REMINDER_DISCREET = _discreet(HYDRATION_REMINDER)
HYDRATION_BUTTON_DONE = _key("hydration.button_done")
HYDRATION_THANKS = _key("hydration.thanks", "count")

# snooze.yaml
SNOOZE_BUTTON = _key("snooze.button")
SNOOZE_DONE = _key("snooze.done", "time")

# checkin.yaml
CHECKIN_QUESTION = _key("checkin.question")
CHECKIN_QUESTION_DISCREET = _discreet(CHECKIN_QUESTION)
CHECKIN_ANSWERS = ("fine", "headache", "nausea", "sweating", "anxiety", "other")
CHECKIN_BUTTONS = {code: _key(f"checkin.button_{code}") for code in CHECKIN_ANSWERS}
CHECKIN_REPLIES = {code: _key(f"checkin.reply_{code}") for code in CHECKIN_ANSWERS}
CHECKIN_REPEATED = _key("checkin.repeated_symptom", "symptom", "times", "checkins")
TOLERANCE_QUESTION = _key("checkin.tolerance_question")
TOLERANCE_QUESTION_DISCREET = _discreet(TOLERANCE_QUESTION)
TOLERANCE_ANSWERS = ("more", "same")
TOLERANCE_BUTTONS = {code: _key(f"checkin.button_tolerance_{code}") for code in TOLERANCE_ANSWERS}
TOLERANCE_REPLIES = {code: _key(f"checkin.reply_tolerance_{code}") for code in TOLERANCE_ANSWERS}
# "Something else" opens the red flags; "other" among them is "none of these".
CHECKIN_OTHER_QUESTION = _key("checkin.other_question")
RED_FLAGS = ("severe", "more", "stopping", "ask", "other")
RED_FLAG_BUTTONS = {code: _key(f"checkin.button_flag_{code}") for code in RED_FLAGS}
# "severe" answers with urgent.emergency, "other" with checkin.reply_other.
RED_FLAG_REPLIES = {
    code: _key(f"checkin.reply_flag_{code}") for code in ("more", "stopping", "ask")
}

# plan.yaml: the after-use hydration plan ("I just took some", /took)
PLAN_BUTTON_TOOK = _key("plan.button_took")
PLAN_STARTED = _key("plan.started", "nudge_times")
PLAN_STARTED_NO_NUDGES = _key("plan.started_no_nudges")
PLAN_PAUSED = _key("plan.paused")
PLAN_NUDGE = _key("plan.nudge", rotates=True)
PLAN_NUDGE_DISCREET = _discreet(PLAN_NUDGE)
# The check-in of the morning after a plan: asks about a next-day headache.
CHECKIN_AFTER_PLAN = _key("checkin.question_after_plan")
CHECKIN_AFTER_PLAN_DISCREET = _discreet(CHECKIN_AFTER_PLAN)

# zone.yaml
ZONE_ASK = _key("zone.ask", "timezone")
ZONE_BUTTON_LOCATION = _key("zone.button_location")
ZONE_SET = _key("zone.set", "timezone", "local_time")
ZONE_BUTTON_CHANGE = _key("zone.button_change")
ZONE_CHOOSE = _key("zone.choose")
ZONE_NOT_UNDERSTOOD = _key("zone.not_understood")
ZONE_LOCATION_UNKNOWN = _key("zone.location_unknown")

# settings.yaml
SETTINGS_MENU = _key(
    "settings.menu", "timezone", "local_time", "waking_start", "waking_end", "hydration",
    "checkin", "tolerance", "language", "discreet", "next_reminder",
)
SETTINGS_EVERY_HOURS = _key("settings.value_every_hours", "hours")
SETTINGS_ON = _key("settings.value_on")
SETTINGS_OFF = _key("settings.value_off")
SETTINGS_NO_REMINDER = _key("settings.value_no_reminder")
SETTINGS_PAUSED = _key("settings.value_paused", "until")
SETTINGS_PAUSED_INDEFINITELY = _key("settings.value_paused_indefinitely")
SETTINGS_BUTTON_ZONE = _key("settings.button_zone")
SETTINGS_BUTTON_WAKING = _key("settings.button_waking")
SETTINGS_BUTTON_HYDRATION = _key("settings.button_hydration")
SETTINGS_BUTTON_CHECKIN = _key("settings.button_checkin")
SETTINGS_BUTTON_TOLERANCE = _key("settings.button_tolerance")
SETTINGS_BUTTON_LANGUAGE = _key("settings.button_language")
SETTINGS_BUTTON_DISCREET = _key("settings.button_discreet")
SETTINGS_BUTTON_BACK = _key("settings.button_back")
SETTINGS_BUTTON_CLOSE = _key("settings.button_close")
SETTINGS_BUTTON_EVERY_HOURS = _key("settings.button_every_hours", "hours")
SETTINGS_BUTTON_OFF = _key("settings.button_off")
SETTINGS_PICK_WAKE_START = _key("settings.pick_wake_start")
SETTINGS_PICK_WAKE_END = _key("settings.pick_wake_end", "waking_start")
SETTINGS_PICK_HYDRATION = _key("settings.pick_hydration", "waking_start", "waking_end")
SETTINGS_PICK_CHECKIN = _key("settings.pick_checkin")
SETTINGS_PICK_LANGUAGE = _key("settings.pick_language")
SETTINGS_CLOSED = _key("settings.closed")
SETTINGS_WINDOW_SET = _key("settings.window_set", "waking_start", "waking_end")
SETTINGS_BAD_WINDOW = _key("settings.bad_window")
LANGUAGE_NAME = _key("settings.language_name")
NOT_SUBSCRIBED = _key("settings.not_subscribed")

# pause.yaml
PAUSE_ASK = _key("pause.ask")
PAUSE_BUTTON_DAY = _key("pause.button_day")
PAUSE_BUTTON_WEEK = _key("pause.button_week")
PAUSE_BUTTON_UNTIL_RESUME = _key("pause.button_until_resume")
PAUSE_DONE_UNTIL = _key("pause.done_until", "until")
PAUSE_DONE_INDEFINITELY = _key("pause.done_indefinitely")
PAUSE_BAD_DURATION = _key("pause.bad_duration")
RESUME_DONE = _key("pause.resumed", "next_reminder")
RESUME_NOT_PAUSED = _key("pause.not_paused")

# data.yaml
DATA_SUMMARY = _key(
    "data.summary", "since", "status", "timezone", "hydration", "checkin", "glasses",
    "glass_days", "checkins",
)
DATA_STATUS = {
    status: _key(f"data.status_{status}") for status in ("active", "paused", "stopped")
}
DATA_FILE_CAPTION = _key("data.file_caption")
DATA_NOTHING = _key("data.nothing")
DATA_CONFIRM_ERASE = _key("data.confirm_erase")
DATA_BUTTON_ERASE = _key("data.button_erase")
DATA_BUTTON_KEEP = _key("data.button_keep")
DATA_ERASED = _key("data.erased")
DATA_KEPT = _key("data.kept")

# history.yaml
HISTORY_EMPTY = _key("history.empty")
HISTORY_CAPTION = _key(
    "history.caption", "days", "glasses", "glass_days", "checkins", "symptoms"
)
HISTORY_NO_SYMPTOMS = _key("history.no_symptoms")
HISTORY_SYMPTOM_COUNT = _key("history.symptom_count", "symptom", "count")
HISTORY_CHART_TITLE = _key("history.chart_title", "days")
HISTORY_CHART_GLASSES = _key("history.chart_glasses")
HISTORY_CHART_SYMPTOMS = _key("history.chart_symptoms")
HISTORY_CHART_DATE_FORMAT = _key("history.chart_date_format")
HISTORY_CHART_NO_CHECKIN = _key("history.chart_no_checkin")
HISTORY_CHART_MONTHS = _key("history.chart_month_names")

# provider.yaml
PROVIDER = _key("provider.body")

# urgent.yaml: typed words of distress
URGENT_EMERGENCY = _key("urgent.emergency")
URGENT_SUPPORT = _key("urgent.support")

# admin.yaml: what only ADMIN_USER_IDS get (not in the command menu or /help)
ADMIN_STATS = _key("admin.stats", "table")

# general.yaml
UNKNOWN_TEXT = _key("general.unknown")
PRIVATE_ONLY = _key("general.private_only")
BUTTON_EXPIRED = _key("general.button_expired")
ERROR = _key("general.error")
SLOW_DOWN = _key("general.slow_down")
