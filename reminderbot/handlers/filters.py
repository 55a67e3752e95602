"""Which updates the conversation handlers take: new messages in private chats only."""

from __future__ import annotations

from telegram.ext import filters

# Edited messages are ignored: a command is answered once, when it is first sent.
PRIVATE_COMMANDS = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
PRIVATE_MESSAGES = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
GROUP_COMMANDS = filters.UpdateType.MESSAGE & filters.ChatType.GROUPS & filters.COMMAND
