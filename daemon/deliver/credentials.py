"""A receiver's secrets, read and checked: what the senders send with, and what `tocsin check` refuses before the
first delivery would. No HTTP library here, so `check` validates every receiver without importing one.

Every message names the receiver and where the secret lives, never the secret.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from pathlib import Path

from tocsin.config.delivery import (
    AlertmanagerReceiver,
    AnyReceiver,
    EmailReceiver,
    MatrixReceiver,
    NtfyReceiver,
    PagerDutyReceiver,
    TeamsReceiver,
    TelegramReceiver,
    WebhookReceiver,
)
from tocsin.config.types import SecretRef
from tocsin.errors import ConfigError

SECRET_PREFIX = "whsec_"  # noqa: S105 (the marker of the format, not a secret)


def credential_problems(receiver: AnyReceiver) -> list[str]:
    """What building the receiver's sender would refuse: a secret that cannot be read, a webhook secret that is
    not `whsec_<base64>`, a header value with a line break, a token that cannot be sent, an unusable CA file."""
    try:
        _read_credentials(receiver)
    except ConfigError as exc:
        return exc.problems
    return []


def _read_credentials(receiver: AnyReceiver) -> None:
    if isinstance(receiver, WebhookReceiver):
        webhook_key(receiver)
        webhook_headers(receiver)
    elif isinstance(receiver, AlertmanagerReceiver | NtfyReceiver | TelegramReceiver):
        bearer_token(receiver.name, "token", receiver.token)
    elif isinstance(receiver, MatrixReceiver):
        bearer_token(receiver.name, "access_token", receiver.access_token)
    elif isinstance(receiver, TeamsReceiver):
        teams_url(receiver)
    elif isinstance(receiver, PagerDutyReceiver):
        receiver.routing_key.resolve()
    elif isinstance(receiver, EmailReceiver) and receiver.password is not None:
        receiver.password.resolve()
    ca_file = getattr(receiver, "ca_file", None)
    if ca_file is not None:
        tls_context(ca_file)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The TLS context that trusts `ca_file` (the system's store when None); ConfigError when it is unusable."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError([f"ca_file {ca_file}: cannot use it ({exc})"]) from exc


def decode_secret(secret: str, where: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; ConfigError naming where it came from (never the secret)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigError([f"{where}: a webhook secret starts with {SECRET_PREFIX} (create one with "
                           f'`echo "{SECRET_PREFIX}$(openssl rand -base64 32)"`)'])
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError([f"{where}: the webhook secret after {SECRET_PREFIX} is not base64"]) from None
    if len(key) < 16:
        raise ConfigError([f"{where}: the webhook secret is too short (use 24 to 64 random bytes)"])
    return key


def webhook_key(config: WebhookReceiver) -> bytes | None:
    """The signing key of a webhook receiver, None when it signs nothing."""
    if config.secret is None:
        return None
    return decode_secret(config.secret.resolve(), f"receiver {config.name}: secret from {config.secret.describe()}")


def webhook_headers(config: WebhookReceiver) -> dict[str, str]:
    """The extra request headers of a webhook receiver, secrets read."""
    headers = {}
    for header, value in config.headers.items():
        resolved = value if isinstance(value, str) else value.resolve()
        if any(char in resolved for char in "\r\n\x00"):
            # Refused here: the HTTP library's error would quote the value, and it may be a secret.
            raise ConfigError([f"receiver {config.name}: the value of header {header} contains a line break"])
        headers[header] = resolved
    return headers


def header_safe(value: str, where: str) -> str:
    """A secret that goes into a header or a URL path: refused when it holds a line break or a space (the HTTP
    library's error would quote it), without ever saying what it is."""
    if not value or any(char in value for char in "\r\n\x00 \t/"):
        raise ConfigError([f"{where}: it is empty or contains a line break, space or '/'"])
    return value


def bearer_token(receiver: str, key: str, secret: SecretRef | None) -> str:
    """A service token read and checked for a header or a URL path; "" when the receiver has none."""
    if secret is None:
        return ""
    return header_safe(secret.resolve(), f"receiver {receiver}: {key} from {secret.describe()}")


def teams_url(config: TeamsReceiver) -> str:
    """The Teams workflow URL, a secret of its own."""
    url = config.url.resolve()
    if not url.startswith(("https://", "http://")) or any(char.isspace() for char in url):
        raise ConfigError([f"receiver {config.name}: the URL from {config.url.describe()} is not an http(s) URL"])
    return url
