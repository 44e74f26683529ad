"""Secrets out of every text tocsin stores, prints or logs, even when a feed or a receiver echoes one back.

One process-wide set of known secret values: `load_config` teaches it every secret a configuration refers to
(`config/secrets.py`), and the three sinks pass their text through `redact`: the state database's error columns
(`store/`), the log handler (`runtime/logs.py`) and the command line's stdout and stderr (`cli/`). Besides the
known values it masks what has the shape of a credential whoever wrote it: URL user:password and secret-looking
query values (`urls.redact_url`), `Authorization: ...` and other header shapes, `password=...`, `whsec_...`.

Process-wide because a secret must be masked wherever its text goes, and the text of one failure passes through
all three sinks. Values are only ever added: a secret dropped from the configuration may still be in flight.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from tocsin.urls import SECRET_PARAMETER, redact_url

MASK = "***"
MIN_SECRET_CHARS = 4
"""Shorter values would mask ordinary words; such secrets are too weak to matter here anyway."""

_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'\"<>`]+")
_SHAPES = (
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), "whsec_" + MASK),
    (re.compile(r"(?i)\b(authorization|proxy-authorization|x-api-key|api-key|x-auth-token|cookie)"
                r"(['\"]?\s*[:=]\s*['\"]?)(bearer\s+|basic\s+|token\s+)?[^\s,;'\"]+"), r"\1\2\3" + MASK),
    (re.compile(r"(?i)\b([a-z0-9_.-]+)=([^\s&;,'\"]+)"), None),
)


class _KnownSecrets:
    def __init__(self) -> None:
        self._values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def learn(self, secrets: Iterable[str]) -> None:
        with self._lock:
            merged = set(self._values) | {value for value in secrets if len(value) >= MIN_SECRET_CHARS}
            # Longest first, so a secret that contains another is masked whole.
            self._values = tuple(sorted(merged, key=lambda value: (-len(value), value)))

    def mask(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text


_KNOWN = _KnownSecrets()


def learn(secrets: Iterable[str]) -> None:
    """Mask these values from now on, in this process, wherever they appear."""
    _KNOWN.learn(secrets)


def redact(text: str) -> str:
    """`text` with every known secret and every credential-shaped part masked as ***."""
    text = _KNOWN.mask(text)
    text = _URL.sub(lambda found: redact_url(found.group()), text)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(_mask_parameter if replacement is None else replacement, text)
    return text


def _mask_parameter(found: re.Match[str]) -> str:
    name = found.group(1)
    return f"{name}={MASK}" if SECRET_PARAMETER.search(name) else found.group()
