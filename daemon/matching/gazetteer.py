"""Places and actors with their aliases (Idlib, Idleb, ...), grouped into named watchlists that rules refer to.

Places also form a hierarchy for escalation: a place may belong to a country (another place of the gazetteer), and
a country may belong to a theatre, a named conflict area (Israel, Gaza and the West Bank: "Israel/Palestine").
A place without a country is its own country; a country outside every theatre is its own theatre. Capitals are
marked, so escalation rules can ask for signals in a capital.
"""

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
    country: str | None = None
    """The name of the place entry this place lies in (None for a country, or a place outside every country)."""
    theatre: str | None = None
    """The conflict area a country belongs to (on countries only)."""
    capital: bool = False

    @property
    def pattern(self) -> str:
        """One bounded pattern over the name and every alias (aliases are terms: `Idl?b` is not, `Idle*` is)."""
        return _alternation((self.name, *self.aliases))


@dataclass(frozen=True, slots=True)
class Region:
    """Where a place lies: its country and theatre (each the place's own name at the top of the hierarchy)."""

    country: str
    theatre: str
    capital: bool


class Gazetteer:
    def __init__(self, entries: tuple[GazetteerEntry, ...] = ()) -> None:
        self.entries = entries

    def regions(self) -> dict[str, Region]:
        """Every place's country and theatre, by place name."""
        places = {entry.name: entry for entry in self.entries if entry.kind == "place"}
        regions = {}
        for entry in places.values():
            country = places.get(entry.country or "", entry)
            regions[entry.name] = Region(country.name, country.theatre or country.name, entry.capital)
        return regions

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
