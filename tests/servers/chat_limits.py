"""What Discord and Slack check in an incoming-webhook body, as their documentation states: the limits, and valid
link URLs. A checker returns the reason the service would refuse the body (answered as the service answers: a
400), or None when it would be accepted. Used as the `judge` of a WebhookReceiver."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _bad_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in ' <>|"\\^`{}')


def discord_refusal(body: bytes) -> str | None:
    data: dict[str, Any] = json.loads(body)
    embeds = data.get("embeds", [])
    if _length(data.get("content", "")) > 2000:
        return "content: Must be 2000 or fewer in length."
    if len(embeds) > 10:
        return "embeds: Must be 10 or fewer in length."
    total = 0
    for embed in embeds:
        title, description = embed.get("title", ""), embed.get("description", "")
        footer = embed.get("footer", {}).get("text", "")
        if _length(title) > 256 or _length(description) > 4096 or _length(footer) > 2048:
            return "embeds.title/description/footer: too long"
        if "url" in embed and _bad_url(embed["url"]):
            return "embeds.url: Not a well formed URL."
        total += _length(title) + _length(description) + _length(footer)
    if total > 6000:
        return "Embed size exceeds maximum size of 6000"
    return None


def slack_refusal(body: bytes) -> str | None:
    data: dict[str, Any] = json.loads(body)
    blocks = data.get("blocks", [])
    if _length(data.get("text", "")) > 40000:
        return "msg_too_long"
    if len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        if block.get("type") == "section" and not 0 < _length(text) <= 3000:
            return "invalid_blocks"
    return None


def refusing(checker: Any) -> Any:
    """A judge for WebhookReceiver: (status, body) the service answers, or None to accept."""
    def judge(body: bytes) -> tuple[int, bytes] | None:
        reason = checker(body)
        return (400, json.dumps({"message": reason, "code": 50035}).encode()) if reason else None
    return judge
