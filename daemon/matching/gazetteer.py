"""Places and actors with their aliases (Idlib, Idleb, ...), grouped into named watchlists that rules refer to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daemon.matching.terms import bounded, find_all, term_body

EntryKind = Literal["place", "actor"]


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    kind: EntryKind
    name: str
    aliases: tuple[str, ...]
    lists: tuple[str, ...]

    @property
    def pattern(self) -> str:
        """One bounded pattern over the name and every alias (aliases are terms: `Idl?b` is not, `Idle*` is)."""
        names = (self.name, *self.aliases)
        return bounded("|".join(term_body(name) for name in names))


@dataclass(frozen=True, slots=True)
class GazetteerHit:
    entry: GazetteerEntry
    start: int
    end: int


class Gazetteer:
    def __init__(self, entries: tuple[GazetteerEntry, ...] = ()) -> None:
        self.entries = entries

    def list_names(self, kind: EntryKind) -> frozenset[str]:
        """Watchlist names a rule may use: the declared lists, and each entry's own name (lower-cased)."""
        names = {name.lower() for entry in self.entries if entry.kind == kind for name in entry.lists}
        names |= {entry.name.lower() for entry in self.entries if entry.kind == kind}
        return frozenset(names)

    def members(self, kind: EntryKind, list_name: str) -> tuple[GazetteerEntry, ...]:
        wanted = list_name.lower()
        return tuple(
            entry for entry in self.entries
            if entry.kind == kind and (wanted == entry.name.lower() or wanted in (n.lower() for n in entry.lists))
        )


def find_entries(entries: tuple[GazetteerEntry, ...], text: str) -> list[GazetteerHit]:
    return [GazetteerHit(entry, start, end) for entry in entries for start, end in find_all(entry.pattern, text)]
