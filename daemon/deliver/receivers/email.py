"""E-mail receivers: one multipart/alternative mail (text and HTML) per group or digest, over SMTP with implicit
TLS or STARTTLS and AUTH (aiosmtplib).

Feed text is untrusted: it is HTML-escaped, links are kept only when they are http(s), and subjects are flattened
to one line so a title with CR/LF can never add a header."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import aiosmtplib

from tocsin.alerts import Alert, iso
from tocsin.clock import Clock
from tocsin.config.delivery import EmailReceiver
from tocsin.deliver.base import Outcome, headline, one_line
from tocsin.deliver.text import render
from tocsin.items import content_hash
from tocsin.urls import safe_link


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2]
    return "".join(ch for ch in domain if ch.isalnum() or ch in ".-") or "tocsin.invalid"


def thread_reference(thread_id: str, domain: str) -> str:
    """The Message-ID every mail of one story or situation refers to, so mail clients thread them."""
    return f"<thread.{content_hash('thread', thread_id)[:24]}@{domain}>"


def subject(alerts: Sequence[Alert]) -> str:
    if alerts[0].kind == "digest":
        return f"[tocsin] {one_line(alerts[0].title, 200)}"
    return f"[tocsin] {headline(alerts)}"


def _html_alert(alert: Alert) -> str:
    escape = html.escape
    if alert.kind == "digest":
        parts = [f"<h2>{escape(one_line(alert.title, 300))}</h2>"]
        parts.append("<ol>" + "".join(f"<li>{_html_alert(member)}</li>" for member in alert.members) + "</ol>")
        omitted = int(alert.extra.get("omitted", 0))
        if omitted:
            parts.append(f"<p>… and {omitted} more (<code>tocsin alerts --recent</code> lists them).</p>")
        return "\n".join(parts)
    parts = [f"<h3>{escape(alert.severity.value.upper())}: {escape(one_line(alert.title, 300))}</h3>"]
    if alert.summary:
        parts.append(f"<p>{escape(alert.summary)}</p>")
    details = [f"rule {alert.rule}"] if alert.rule else []
    details += [f"tags {', '.join(alert.tags)}"] if alert.tags else []
    details += [f"places {', '.join(alert.places)}"] if alert.places else []
    if alert.deadline:
        details.append(f"deadline {iso(alert.deadline.at)} ({alert.deadline.text})")
    if details:
        parts.append(f"<p><small>{escape(' · '.join(details))}</small></p>")
    if alert.items:
        entries = []
        for item in alert.items[:10]:
            title = escape(one_line(item.title, 200))
            link = safe_link(item.link)
            shown = f'<a href="{escape(link, quote=True)}">{title}</a>' if link else title
            published = f", {escape(iso(item.published))}" if item.published else ""
            entries.append(f"<li>{shown} — {escape(item.feed)}{published}</li>")
        parts.append("<ul>" + "".join(entries) + "</ul>")
    return "\n".join(parts)


def html_body(alerts: Sequence[Alert]) -> str:
    body = "\n<hr>\n".join(_html_alert(alert) for alert in alerts)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n<body style="font-family: sans-serif">\n'
        f"{body}\n<p><small>Sent by tocsin.</small></p>\n</body></html>\n"
    )


def compose(alerts: Sequence[Alert], config: EmailReceiver, now: datetime) -> EmailMessage:
    domain = _domain(config.sender)
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject(alerts)
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Date"] = format_datetime(now)
    # Stable across retries of the same delivery, so a mail accepted twice is recognisably one.
    message["Message-ID"] = f"<{content_hash(*(alert.id for alert in alerts))[:24]}.{alerts[0].id}@{domain}>"
    thread = alerts[0].thread_id
    if thread:
        reference = thread_reference(thread, domain)
        message["In-Reply-To"] = reference
        message["References"] = reference
    message["Auto-Submitted"] = "auto-generated"
    message["X-Tocsin-Kind"] = alerts[0].kind
    message.set_content("\n\n".join(render(alert) for alert in alerts) + "\n\n-- \nSent by tocsin.\n")
    message.add_alternative(html_body(alerts), subtype="html")
    return message


class EmailSender:
    def __init__(self, config: EmailReceiver, clock: Clock) -> None:
        self.name = config.name
        self._config = config
        self._clock = clock
        self._password = config.password.resolve() if config.password else None

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        config = self._config
        message = compose(alerts, config, self._clock.now())
        try:
            await aiosmtplib.send(
                message, sender=config.sender, recipients=list(config.to), hostname=config.host,
                port=config.effective_port, username=config.username, password=self._password,
                use_tls=config.tls == "implicit", start_tls=config.tls == "starttls",
                timeout=config.timeout.total_seconds(),
                cert_bundle=str(config.ca_file) if config.ca_file else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            reason = "every recipient refused: " + "; ".join(f"{r.recipient}: {r.code}" for r in exc.recipients)
            return Outcome.permanent(reason) if all(code >= 500 for code in codes) else Outcome.retry(reason)
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.code}: {one_line(exc.message, 200)}"
            return Outcome.permanent(reason) if exc.code >= 500 else Outcome.retry(reason)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome.retry(f"{type(exc).__name__}: {one_line(str(exc), 200)}")
        return Outcome.delivered()
