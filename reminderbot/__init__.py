"""reminderbot: hydration reminders and plain harm-reduction guidance on Telegram."""

__version__ = "0.1.0"
