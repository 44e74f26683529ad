"""What makes two reports look like the same event: their content words, places, actors, numbers and tags.

Reports of one event in different words share few exact phrases, so the text signal is word-set overlap and the
entities the rule engine found carry the rest. A MinHash of the words gives index keys (bands) that, with the
entity names, let the story index find candidates without scanning the window, and spots wire copies.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from tocsin.items import Item
from tocsin.matching.model import Match

PERMUTATIONS = 32
BAND_ROWS = 4
_MASK63 = (1 << 63) - 1


_WORD = re.compile(r"\w+")
_STOPWORDS_TEXT = (
    "the a an and or of in on at to for from by with as is are was were be been has have had it its this that "
    "these those their there they them he she his her after before over under into than then also but not no "
    "said says say according who which what when where while will would could can may might more most some "
    "about against between during near other out up all two one new"
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))


def normalize(text: str) -> str:
    """Case-folded, accents removed (Idleb and Idléb compare equal), whitespace collapsed."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(text.casefold().split())


@lru_cache(maxsize=65536)
def _content_word(word: str) -> str:
    """The word as compared ("" for a stopword or a very short word): a plural -s removed so forms match."""
    if word in _STOPWORDS or (len(word) < 3 and not word.isdigit()):
        return ""
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> frozenset[str]:
    """Content words of a text, each once."""
    return frozenset(map(_content_word, set(_WORD.findall(normalize(text))))) - {""}


@lru_cache(maxsize=65536)
def _word_hashes(word: str) -> tuple[int, ...]:
    """PERMUTATIONS independent 32-bit hashes of a word, from one extendable-output hash call."""
    return struct.unpack(f">{PERMUTATIONS}I", hashlib.shake_128(word.encode()).digest(4 * PERMUTATIONS))


def minhash(word_set: frozenset[str]) -> tuple[int, ...]:
    """Per hash function, the minimum over the words (zip and min run in C: no Python loop per function)."""
    if not word_set:
        return (0,) * PERMUTATIONS
    return tuple(map(min, zip(*map(_word_hashes, word_set), strict=True)))


def similarity(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of the word sets behind two signatures."""
    return sum(a == b for a, b in zip(first, second, strict=True)) / PERMUTATIONS


def pack(signature: tuple[int, ...]) -> bytes:
    return struct.pack(f">{len(signature)}I", *signature)


def unpack(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{PERMUTATIONS}I", blob)


def _key(*parts: bytes) -> int:
    digest = hashlib.blake2b(b"\x00".join(parts), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _MASK63


@dataclass(frozen=True, slots=True)
class Fingerprint:
    words: frozenset[str]
    signature: tuple[int, ...]
    entities: frozenset[str]
    """Places and actors, normalized."""
    numbers: frozenset[str]
    tags: frozenset[str]
    anchors: frozenset[str]
    """What the index files the report under besides its wording: its places, or its actors when it names no
    place (actors such as a country's army appear in far more stories than any one place)."""

    @classmethod
    def of(cls, item: Item, matches: list[Match]) -> Fingerprint:
        places = {normalize(name) for match in matches for name in match.places}
        actors = {normalize(name) for match in matches for name in match.actors}
        numbers = {f"{q.unit}:{q.value:g}" for match in matches for q in match.quantities}
        # A rule without tags stands for its own family, so its reports can still form stories.
        tags = {tag for match in matches for tag in (match.tags or (f"rule:{match.rule}",))}
        word_set = words(item.text)
        return cls(word_set, minhash(word_set), frozenset(places | actors), frozenset(numbers), frozenset(tags),
                   frozenset(places or actors))

    def index_keys(self) -> list[int]:
        """Per tag (joining needs a shared tag): MinHash bands (similar wording) and anchors (same place,
        different wording)."""
        packed = pack(self.signature)
        bands = [packed[start : start + 4 * BAND_ROWS] for start in range(0, 4 * PERMUTATIONS, 4 * BAND_ROWS)]
        return [
            *(_key(b"b", tag.encode(), bytes([start]), band) for tag in sorted(self.tags)
              for start, band in enumerate(bands)),
            *(_key(b"e", tag.encode(), name.encode()) for tag in sorted(self.tags) for name in sorted(self.anchors)),
        ]

    def score(self, words: Sequence[str], entities: Sequence[str], numbers: Sequence[str],
              tags: Sequence[str]) -> float:
        """How strongly another report (given by its parts, as stored) looks like the same event: 0 unless a tag
        is shared (a rule fires once per story, so reports no common rule family recognises are not merged),
        else word overlap relative to the shorter report (rewordings keep the key words, not the length) plus
        bounded bonuses for shared places, actors and numbers."""
        if self.tags.isdisjoint(tags) or not self.words or not words:
            return 0.0
        overlap = len(self.words.intersection(words)) / min(len(self.words), len(words))
        shared_entities = len(self.entities.intersection(entities))
        shared_numbers = len(self.numbers.intersection(numbers))
        return overlap + 0.1 * min(shared_entities, 2) + 0.15 * min(shared_numbers, 1)
