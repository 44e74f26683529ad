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
from dataclasses import dataclass
from functools import lru_cache

from daemon.items import Item
from daemon.matching.model import Match

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


def words(text: str) -> frozenset[str]:
    """Content words: stopwords and very short words dropped, a plural -s removed so forms compare equal."""
    found = set()
    for word in _WORD.findall(normalize(text)):
        if word in _STOPWORDS or (len(word) < 3 and not word.isdigit()):
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return frozenset(found)


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
    return struct.pack(f">{PERMUTATIONS}I", *signature)


def unpack(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{PERMUTATIONS}I", blob)


def _key(*parts: str | int) -> int:
    digest = hashlib.blake2b("\x00".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _MASK63


@dataclass(frozen=True, slots=True)
class Fingerprint:
    words: frozenset[str]
    signature: tuple[int, ...]
    entities: frozenset[str]
    numbers: frozenset[str]
    tags: frozenset[str]

    @classmethod
    def of(cls, item: Item, matches: list[Match]) -> Fingerprint:
        entities = {normalize(name) for match in matches for name in (*match.places, *match.actors)}
        numbers = {f"{q.unit}:{q.value:g}" for match in matches for q in match.quantities}
        tags = {tag for match in matches for tag in match.tags}
        word_set = words(item.text)
        return cls(word_set, minhash(word_set), frozenset(entities), frozenset(numbers), frozenset(tags))

    def index_keys(self) -> list[int]:
        """Per tag (joining needs a shared tag): MinHash bands (similar wording) and entity names (same place or
        actor, different wording)."""
        bands = [self.signature[start : start + BAND_ROWS] for start in range(0, PERMUTATIONS, BAND_ROWS)]
        return [
            *(_key("band", tag, start, *band) for tag in sorted(self.tags) for start, band in enumerate(bands)),
            *(_key("entity", tag, name) for tag in sorted(self.tags) for name in sorted(self.entities)),
        ]

    def score(self, other: Fingerprint) -> float:
        """How strongly two reports look like one event: 0 unless a tag is shared (a rule fires once per story,
        so reports no common rule family recognises are not merged), else word overlap relative to the shorter
        report (rewordings keep the key words, not the length) plus bounded bonuses for shared places, actors
        and numbers."""
        if not self.tags & other.tags or not self.words or not other.words:
            return 0.0
        overlap = len(self.words & other.words) / min(len(self.words), len(other.words))
        shared_entities = len(self.entities & other.entities)
        shared_numbers = len(self.numbers & other.numbers)
        return overlap + 0.1 * min(shared_entities, 2) + 0.15 * min(shared_numbers, 1)
