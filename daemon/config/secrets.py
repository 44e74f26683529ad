"""Every secret value a configuration holds, resolved, so that `tocsin.redaction` can mask each one wherever its
text goes: secret references, credential headers written inline, and the secret parts of every configured URL
(feed URLs with user:password or ?token=, chat webhook URLs that carry their token in the path)."""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, SecretStr

from tocsin.config.types import SecretRef
from tocsin.errors import ConfigError
from tocsin.urls import SECRET_PARAMETER, url_secrets

_CREDENTIAL_HEADERS = frozenset({"cookie", "proxy-authorization"})


def secret_values(settings: BaseModel) -> list[str]:
    """The secret values of a configuration (or of one part of it), in the order they are written."""
    found: list[str] = []
    _collect(settings, "", found)
    return found


def _collect(value: Any, key: str, found: list[str]) -> None:
    if isinstance(value, SecretRef):
        # An unreadable secret is reported by whoever needs it; there is nothing to mask.
        with contextlib.suppress(ConfigError):
            _add_secret(value.resolve(), found)
    elif isinstance(value, SecretStr):
        _add_secret(value.get_secret_value(), found)
    elif isinstance(value, str):
        if value.startswith(("http://", "https://")):
            found += url_secrets(value)
        elif key and (SECRET_PARAMETER.search(key) or key.lower() in _CREDENTIAL_HEADERS):
            _add_secret(value, found)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), name, found)
    elif isinstance(value, list | tuple):
        for element in value:
            _collect(element, key, found)
    elif isinstance(value, dict):
        for name, element in value.items():
            _collect(element, str(name), found)


def _add_secret(secret: str, found: list[str]) -> None:
    """The value, and its parts that may be echoed alone: the credential of `Bearer <credential>`, the secret
    parts of a secret URL (a Teams workflow URL's signature)."""
    found.append(secret)
    scheme, _, credential = secret.partition(" ")
    if credential and scheme.isalpha():
        found.append(credential.strip())
    if secret.startswith(("http://", "https://")):
        found += url_secrets(secret)
