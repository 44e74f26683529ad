"""What no key's own validation can see: names used twice, and routes naming receivers that do not exist.

These read the configuration file as written (before validation; TOCSIN_* overrides are not seen), so they are
reported in the same run as every field's problem: run as model validators, they ran only once every field of
their section was valid, and an operator fixed a configuration in rounds. Entries too broken to name anything are
passed over here; validation reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Location = tuple[int | str, ...]


def consistency_problems(data: dict[str, Any]) -> list[tuple[Location, str]]:
    """(key, message) of each name used twice and each unknown receiver a route names."""
    feeds = _entries(data, "feeds")
    problems = [((*where, "name"), f'feed name "{name}" is used twice; names identify feeds in state and logs')
                for where, name in _repeated(_named(feeds))]
    delivery = data.get("delivery")
    if not isinstance(delivery, dict):
        return problems
    receivers = [(("delivery", *where), entry) for where, entry in _entries(delivery, "receivers")]
    named = list(_named(receivers))
    problems += [((*where, "name"), f'"{name}" is used twice') for where, name in _repeated(named)]
    names = {name for _, name in named}
    known = ", ".join(sorted(names)) or "none defined; add [[delivery.receivers]]"
    routes = [(("delivery", *where), route) for where, route in _entries(delivery, "routes")]
    if isinstance(delivery.get("default"), dict):
        routes.append((("delivery", "default"), delivery["default"]))
    for where, route in routes:
        wanted = route.get("receivers") if isinstance(route, dict) else None
        if isinstance(wanted, list):
            problems += [((*where, "receivers"), f'unknown receiver "{name}" (known: {known})')
                         for name in wanted if isinstance(name, str) and name not in names]
    return problems


def _entries(table: dict[str, Any], key: str) -> list[tuple[Location, Any]]:
    entries = table.get(key)
    return [((key, index), entry) for index, entry in enumerate(entries)] if isinstance(entries, list) else []


def _named(entries: list[tuple[Location, Any]]) -> Iterator[tuple[Location, str]]:
    for where, entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            yield where, entry["name"]


def _repeated(named: Iterable[tuple[Location, str]]) -> Iterator[tuple[Location, str]]:
    """Every use of a name after its first."""
    seen: set[str] = set()
    for where, name in named:
        if name in seen:
            yield where, name
        seen.add(name)
