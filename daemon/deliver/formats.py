"""Chat bodies for webhook receivers that do not speak tocsin's JSON: Slack (also Mattermost and Rocket.Chat
incoming webhooks) and Discord. Feed text is untrusted: markup and mentions in it must stay inert.

Each service refuses a message over its documented limits with a 400 (Discord: 2,000 characters of content, 10
embeds, 256 per embed title, 4,096 per description, 6,000 over all embeds; Slack: 50 blocks, 3,000 per section,
40,000 of text), so a group is packed into as many messages as it needs, each within every limit."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.alerts import Alert, iso
from tocsin.deliver.base import headline, one_line, truncate, utf16_length
from tocsin.severity import Severity
from tocsin.urls import encoded_link

_SEVERITY_COLOUR = {
    Severity.INFO: 0x9E9E9E, Severity.LOW: 0x2196F3, Severity.MEDIUM: 0xFFC107, Severity.HIGH: 0xFF5722,
    Severity.CRITICAL: 0xB71C1C,
}
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>#@:-])")
MAX_ALERTS_SHOWN = 30
"""A group lists at most this many alerts (over all its messages); the rest are counted."""
_MAX_ITEMS_SHOWN = 3

DISCORD_CONTENT = 2000
DISCORD_EMBEDS = 10
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_EMBED_TOTAL = 6000
"""Title, description, footer (and fields, author) of every embed of one message together."""

SLACK_BLOCKS = 50
SLACK_SECTION = 3000
SLACK_TEXT = 16000
"""Slack takes 40,000 characters of text, Mattermost 16,383 per post: the smaller, so one body suits both."""


def slack_escape(text: str) -> str:
    # Slack needs &, <, > escaped; "@channel" is defused for Mattermost, which expands it in plain text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("@", "@\u200b")


def slack_link(url: str, text: str) -> str:
    """`<url|text>` with the URL percent-encoded and &, <, > escaped as Slack's formatting rules say (a `|`, `>` or
    space in a feed link can then neither end the link nor add a mention); text alone when the link is unsafe."""
    link = encoded_link(url)
    if link is None:
        return text
    return f"<{link.replace('&', '&amp;')}|{text}>"


def _discord_escape(text: str) -> str:
    return _DISCORD_MARKDOWN.sub(r"\\\1", text)


def _shown(alerts: Sequence[Alert]) -> tuple[Sequence[Alert], int]:
    return alerts[:MAX_ALERTS_SHOWN], max(0, len(alerts) - MAX_ALERTS_SHOWN)


def _fit_lines(lines: Sequence[str], limit: int, measure: Callable[[str], int] = utf16_length) -> str:
    """As many whole lines as fit in `limit` (a line with a link is never cut in half, which would break its
    markup); the first line is cut when even it alone is too long."""
    kept: list[str] = []
    size = 0
    for line in lines:
        needed = measure(line) + (1 if kept else 0)
        if size + needed > limit:
            if not kept:
                cut = truncate(line, limit)
                while measure(cut) > limit:
                    cut = truncate(cut, utf16_length(cut) * 9 // 10)
                kept.append(cut)
            break
        kept.append(line)
        size += needed
    return "\n".join(kept)


def utf8_length(text: str) -> int:
    return len(text.encode())


def fit_bytes(lines: Sequence[str], limit: int) -> str:
    """As many whole lines as fit in `limit` bytes of UTF-8 (services that count bytes: ntfy, Teams, Matrix)."""
    return _fit_lines(lines, limit, utf8_length)


@dataclass(frozen=True, slots=True)
class Markup:
    """How one service writes escaped text, bold text and a link (feed text goes through `escape` only)."""

    escape: Callable[[str], str]
    bold: Callable[[str], str]
    link: Callable[[str, str], str]
    """(feed URL, escaped text) -> the link, or the text alone when the URL is not a safe http(s) link."""


def _html_link(url: str, text: str) -> str:
    link = encoded_link(url)
    return f'<a href="{html.escape(link, quote=True)}">{text}</a>' if link else text


def _plain_link(url: str, text: str) -> str:
    link = encoded_link(url)
    return f"{text} {link}" if link else text


SLACK = Markup(slack_escape, lambda text: f"*{text}*", slack_link)
HTML = Markup(lambda text: html.escape(text, quote=False), lambda text: f"<b>{text}</b>", _html_link)
"""The HTML subset Telegram's HTML parse mode and Matrix's formatted_body both take."""
PLAIN = Markup(lambda text: text, lambda text: text, _plain_link)


def alert_lines(alert: Alert, markup: Markup, *, grouped: bool) -> list[str]:
    """An alert as a few lines: its title when in a group (the headline names the first), summary, items."""
    lines = [f"{markup.bold(alert.severity.value.upper())} {markup.escape(one_line(alert.title, 200))}"] \
        if grouped else []
    if alert.summary:
        lines.append(markup.escape(one_line(alert.summary, 500)))
    for item in alert.items[:_MAX_ITEMS_SHOWN]:
        shown = markup.link(item.link, markup.escape(one_line(item.title, 150)))
        lines.append(f"• {shown} ({markup.escape(one_line(item.feed, 60))})")
    return lines


def group_text(alerts: Sequence[Alert], markup: Markup, limit: int) -> str:
    """A group as one message of at most `limit` characters: the headline, then each alert (whole lines only, so
    no link is cut in half), then how many were left out."""
    shown, more = _shown(alerts)
    lines = [markup.bold(markup.escape(headline(alerts)))]
    for alert in shown:
        lines += alert_lines(alert, markup, grouped=len(alerts) > 1)
    text = _fit_lines(lines, limit)
    if more or text.count("\n") + 1 < len(lines):
        note = f"\n… shortened to fit; {len(alerts)} alert(s) in all (tocsin alerts --recent lists them)"
        text = _fit_lines(lines, limit - utf16_length(note)) + note
    return text


def _slack_section(alert: Alert, grouped: bool) -> str:
    return _fit_lines(alert_lines(alert, SLACK, grouped=grouped), SLACK_SECTION)


def slack_messages(alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    """One or more Slack bodies for a group: `blocks` (one mrkdwn section per alert) and the same as `text`, which
    Mattermost and Rocket.Chat show and Slack uses for notifications."""
    shown, more = _shown(alerts)
    sections = [f"*{slack_escape(headline(alerts))}*"]
    sections += [section for alert in shown if (section := _slack_section(alert, len(alerts) > 1))]
    if more:
        sections.append(f"… and {more} more")
    messages: list[list[str]] = [[]]
    size = 0
    for section in sections:
        needed = utf16_length(section) + 1
        if messages[-1] and (len(messages[-1]) == SLACK_BLOCKS or size + needed > SLACK_TEXT):
            messages.append([])
            size = 0
        messages[-1].append(section)
        size += needed
    return [
        {"text": "\n".join(message),
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": section}} for section in message]}
        for message in messages
    ]


def _discord_embed(alert: Alert) -> dict[str, Any]:
    description = [_discord_escape(one_line(alert.summary, 1000))] if alert.summary else []
    for item in alert.items[:_MAX_ITEMS_SHOWN]:
        title = _discord_escape(one_line(item.title, 150))
        link = encoded_link(item.link)
        # Inside <...> the link is not embedded as a preview; encoded_link leaves no ")" or ">" to end it early.
        shown = f"[{title}](<{link.replace(')', '%29')}>)" if link else title
        description.append(f"• {shown} ({_discord_escape(one_line(item.feed, 60))})")
    embed: dict[str, Any] = {
        "title": one_line(f"{alert.severity.value.upper()}: {alert.title}", DISCORD_TITLE),
        "description": _fit_lines(description, DISCORD_DESCRIPTION),
        "color": _SEVERITY_COLOUR[alert.severity],
        "timestamp": iso(alert.created),
        "footer": {"text": f"tocsin {alert.kind} {alert.id}"},
    }
    link = next((link for item in alert.items if (link := encoded_link(item.link))), None)
    if link:
        embed["url"] = link
    return embed


def _embed_size(embed: dict[str, Any]) -> int:
    return utf16_length(embed["title"]) + utf16_length(embed["description"]) + utf16_length(embed["footer"]["text"])


def discord_messages(alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    """One or more Discord bodies for a group: an embed per alert, at most 10 and 6,000 characters per message."""
    shown, more = _shown(alerts)
    packed: list[list[dict[str, Any]]] = [[]]
    size = 0
    for embed in map(_discord_embed, shown):
        needed = _embed_size(embed)
        if packed[-1] and (len(packed[-1]) == DISCORD_EMBEDS or size + needed > DISCORD_EMBED_TOTAL):
            packed.append([])
            size = 0
        packed[-1].append(embed)
        size += needed
    content = _discord_escape(headline(alerts)) + (f" (showing {len(shown)}, {more} more)" if more else "")
    bodies = []
    for index, embeds in enumerate(packed):
        part = f" ({index + 1}/{len(packed)})" if len(packed) > 1 else ""
        # Feed text may contain "@everyone"; no mention in a tocsin message ever pings anyone.
        bodies.append({"content": truncate(content, DISCORD_CONTENT - len(part)) + part, "embeds": embeds,
                       "allowed_mentions": {"parse": []}})
    return bodies
