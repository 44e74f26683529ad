"""Alerts as plain text: the console receiver prints it, the email receiver sends it as the text part."""

from __future__ import annotations

from tocsin.alerts import Alert, iso
from tocsin.deliver.base import one_line, plain_block


def render(alert: Alert) -> str:
    """A few lines per alert; feed text is flattened so it cannot move the cursor or fake a line of its own.
    A digest shows each alert it collects in the same form, indented."""
    lines = [f"── {alert.severity.value.upper()} {alert.kind} · {iso(alert.created)} · {alert.id}",
             f"   {one_line(alert.title, 300)}"]
    if alert.kind == "digest":
        for member in alert.members:
            lines.extend(f"   {line}" for line in render(member).splitlines())
        omitted = int(alert.extra.get("omitted", 0))
        if omitted:
            lines.append(f"   … and {omitted} more (tocsin alerts --recent lists them)")
        return "\n".join(lines)
    lines.extend(f"   {line}" for line in plain_block(alert.summary, 600).splitlines())
    details = [f"rule {alert.rule}"] if alert.rule else []
    if alert.tags:
        details.append("tags " + ", ".join(one_line(tag, 40) for tag in alert.tags))
    if alert.places:
        details.append("places " + ", ".join(one_line(place, 60) for place in alert.places))
    if alert.deadline:
        details.append(f"deadline {iso(alert.deadline.at)} ({one_line(alert.deadline.text, 80)})")
    if details:
        lines.append("   " + " · ".join(details))
    for item in alert.items[:5]:
        lines.append(f"   • {one_line(item.title, 160)} — {one_line(item.feed, 60)}")
        lines.append(f"     {one_line(item.link, 300)}")
    return "\n".join(lines)
