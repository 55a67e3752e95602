"""Telegram HTML as a terminal shows it: styles as ANSI codes on a TTY, plain text otherwise."""

from __future__ import annotations

from html.parser import HTMLParser

# Tag -> (ANSI on, ANSI off). Specific "off" codes let styles nest (bold inside italic).
_STYLES = {
    "b": ("\033[1m", "\033[22m"),
    "strong": ("\033[1m", "\033[22m"),
    "i": ("\033[3m", "\033[23m"),
    "em": ("\033[3m", "\033[23m"),
    "u": ("\033[4m", "\033[24m"),
    "ins": ("\033[4m", "\033[24m"),
    "a": ("\033[4m", "\033[24m"),
    "s": ("\033[9m", "\033[29m"),
    "strike": ("\033[9m", "\033[29m"),
    "del": ("\033[9m", "\033[29m"),
}


class _Renderer(HTMLParser):
    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)  # &amp; and friends arrive decoded
        self.color = color
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.color and tag in _STYLES:
            self.out.append(_STYLES[tag][0])

    def handle_endtag(self, tag: str) -> None:
        if self.color and tag in _STYLES:
            self.out.append(_STYLES[tag][1])

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def to_terminal(text: str, *, color: bool) -> str:
    """``text`` (Telegram HTML) as the user reads it; bold, italic, underline as ANSI if ``color``.

    Like Telegram, surrounding whitespace is dropped.
    """
    renderer = _Renderer(color)
    renderer.feed(text)
    renderer.close()
    return "".join(renderer.out).strip()


def plain_text(text: str) -> str:
    """What Telegram shows for ``text``: tags removed, entities decoded, whitespace trimmed."""
    return to_terminal(text, color=False)


def telegram_length(text: str) -> int:
    """The length Telegram counts against its limits, in UTF-16 code units (emoji count 2)."""
    return len(plain_text(text).encode("utf-16-le")) // 2
