"""Partner codes: which partner's link (``t.me/<bot>?start=clinic-a``) brought a user.

A code is 1 to 32 ASCII letters, digits or dashes; anything else is ignored, never an error.
Codes are stored lower-case so that ``Clinic-A`` and ``clinic-a`` count as one partner.
"""

from __future__ import annotations

import re

CODE_PATTERN = r"[A-Za-z0-9-]{1,32}"
_CODE = re.compile(CODE_PATTERN, re.ASCII)


def partner_code(value: str | None) -> str | None:
    """The partner code in ``value`` (a /start parameter), or None when it is not one."""
    if value is None or not _CODE.fullmatch(value):
        return None
    return value.lower()


def start_parameter(args: list[str] | None) -> str | None:
    """The partner code of a ``/start`` command's arguments (a deep link sends exactly one)."""
    if not args or len(args) != 1:
        return None
    return partner_code(args[0])
