"""Durations (`90s`, `5m`, `2h`, `7d`) and sizes (`15MiB`) as people write them in config and on the command line."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$")
_SIZE_BYTES = {
    None: 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3,
}

DURATION_HINT = "write 30s, 5m, 2h, 7d or a combination such as 1h30m"
SIZE_HINT = "write a byte count or a size such as 512KiB, 15MiB, 1GB"


def parse_duration(text: str) -> timedelta:
    """Parse `90s`, `5m`, `1h30m`, `7d`; raise ValueError with a hint otherwise."""
    if not _DURATION_WHOLE.match(text):
        raise ValueError(f'"{text}" is not a duration ({DURATION_HINT})')
    seconds = sum(float(num) * _DURATION_SECONDS[unit] for num, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def parse_size(text: str | int) -> int:
    """Parse `15MiB`, `512KB` or a plain byte count; raise ValueError with a hint otherwise."""
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{text} is negative ({SIZE_HINT})")
        return text
    found = _SIZE.match(text)
    if not found:
        raise ValueError(f'"{text}" is not a size ({SIZE_HINT})')
    return int(float(found.group(1)) * _SIZE_BYTES[found.group(2)])


def format_duration(delta: timedelta) -> str:
    """The shortest readable form: 2h, 1h30m, 45s."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
