"""Chat bodies for webhook receivers that do not speak tocsin's JSON: Slack (also Mattermost and Rocket.Chat
incoming webhooks) and Discord. Feed text is untrusted: markup and mentions in it must stay inert."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tocsin.alerts import Alert, iso
from tocsin.deliver.base import headline, one_line, safe_link
from tocsin.severity import Severity

_SEVERITY_COLOUR = {
    Severity.INFO: 0x9E9E9E, Severity.LOW: 0x2196F3, Severity.MEDIUM: 0xFFC107, Severity.HIGH: 0xFF5722,
    Severity.CRITICAL: 0xB71C1C,
}
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>#@:-])")
_MAX_ALERTS_SHOWN = 10
_MAX_ITEMS_SHOWN = 3


def _slack_escape(text: str) -> str:
    # Slack needs &, <, > escaped; "@channel" is defused for Mattermost, which expands it in plain text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("@", "@\u200b")


def _discord_escape(text: str) -> str:
    return _DISCORD_MARKDOWN.sub(r"\\\1", text)


def slack_body(alerts: Sequence[Alert]) -> dict[str, Any]:
    lines = [f"*{_slack_escape(headline(alerts))}*"]
    for alert in alerts[:_MAX_ALERTS_SHOWN]:
        if len(alerts) > 1:
            lines.append(f"*{alert.severity.value.upper()}* {_slack_escape(one_line(alert.title, 200))}")
        if alert.summary:
            lines.append(_slack_escape(one_line(alert.summary, 500)))
        for item in alert.items[:_MAX_ITEMS_SHOWN]:
            title = _slack_escape(one_line(item.title, 150))
            link = safe_link(item.link)
            shown = f"<{link.replace('|', '%7C').replace('>', '%3E')}|{title}>" if link else title
            lines.append(f"• {shown} ({_slack_escape(one_line(item.feed, 60))})")
    if len(alerts) > _MAX_ALERTS_SHOWN:
        lines.append(f"… and {len(alerts) - _MAX_ALERTS_SHOWN} more")
    return {"text": "\n".join(lines)}


def discord_body(alerts: Sequence[Alert]) -> dict[str, Any]:
    embeds = []
    for alert in alerts[:_MAX_ALERTS_SHOWN]:
        description = [_discord_escape(one_line(alert.summary, 1000))] if alert.summary else []
        for item in alert.items[:_MAX_ITEMS_SHOWN]:
            title = _discord_escape(one_line(item.title, 150))
            link = safe_link(item.link)
            shown = f"[{title}](<{link.replace(')', '%29').replace('>', '%3E')}>)" if link else title
            description.append(f"• {shown} ({_discord_escape(one_line(item.feed, 60))})")
        embed: dict[str, Any] = {
            "title": one_line(f"{alert.severity.value.upper()}: {alert.title}", 256),
            "description": "\n".join(description)[:4000],
            "color": _SEVERITY_COLOUR[alert.severity],
            "timestamp": iso(alert.created),
            "footer": {"text": f"tocsin {alert.kind} {alert.id}"},
        }
        link = next((safe_link(item.link) for item in alert.items if safe_link(item.link)), None)
        if link:
            embed["url"] = link
        embeds.append(embed)
    more = len(alerts) - _MAX_ALERTS_SHOWN
    content = _discord_escape(headline(alerts)) + (f" (showing {_MAX_ALERTS_SHOWN}, {more} more)" if more > 0 else "")
    # Feed text may contain "@everyone"; no mention in a tocsin message ever pings anyone.
    return {"content": content[:2000], "embeds": embeds, "allowed_mentions": {"parse": []}}
