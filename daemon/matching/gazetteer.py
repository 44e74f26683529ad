"""Places and actors with their aliases (Idlib, Idleb, ...), grouped into named watchlists that rules refer to."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from tocsin.matching.terms import bounded, term_body

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
        return _alternation((self.name, *self.aliases))


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


@lru_cache(maxsize=65536)
def _alternation(names: tuple[str, ...]) -> str:
    return bounded("|".join(term_body(name) for name in names))
