"""What matching one rule costs, measured when `tocsin check` loads the rules, so that a rule out of line (a list
of thousands of terms pasted in) is reported before it slows every poll.

The prefilter's cost per item is RE2's pass over the text with every pattern at once; it depends on the patterns
and the text together, and no count predicts it well (one regular expression of 10,000 alternatives is cheap, the
same 10,000 as terms are not). So each rule's own patterns go into a Set of their own and scan a probe text of
MAX_SCANNED_CHARS, the most matching reads of a summary; the CPU time of that pass is the rule's cost.

Measuring every rule took about 0.2 CPU s of each `check` on the shipped rules, two thirds of its budget. The
probe text is fixed, so a rule's cost is a function of its patterns and the RE2 build alone: each measurement is
kept in the user's cache directory under the digest of those (rule-costs.json), and a check measures only the
rules whose patterns it has not measured before on this machine. An edited rule is measured again; a cached cost
over the limit warns as the fresh measurement did. A shape test instead (only rules of many terms) would miss a
short rule whose one regular expression makes RE2 build states all along the text, and `--cost` as an option
would leave the warning to those who already suspect a rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import string
import tempfile
import time
from pathlib import Path

import re2

from tocsin.errors import Problem
from tocsin.matching.prefilter import Prefilter
from tocsin.matching.rules import MAX_SCANNED_CHARS, RuleSet

log = logging.getLogger(__name__)

COSTLY_PROBE_S = 0.25
"""CPU time per probe above which a rule is out of line: about six times the heaviest shipped rule (casualties,
686 patterns, about 40 ms on a 2-core VM); a rule of 10,000 terms takes about 1.5 s."""
_PROBE_SEED = 18
CACHE_FILE = "rule-costs.json"
_CACHE_FORMAT = 1
_CACHE_KEPT = 4096
"""Measurements kept, the latest: every rule of a few large rule sets."""


def probe_text() -> str:
    """MAX_SCANNED_CHARS of lower-case pseudo-words, the same on every run: text no rule was written for makes
    RE2 build fresh automaton states all along, as a real summary does."""
    chooser = random.Random(_PROBE_SEED)  # noqa: S311 (a fixed probe text, nothing secret)
    words: list[str] = []
    length = 0
    while length < MAX_SCANNED_CHARS:
        word = "".join(chooser.choice(string.ascii_lowercase) for _ in range(chooser.randint(2, 9)))
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:MAX_SCANNED_CHARS]


def cache_directory() -> Path:
    """Where measurements of this machine are kept for the user who runs `check`: systemd's $CACHE_DIRECTORY,
    else $XDG_CACHE_HOME/tocsin, else ~/.cache/tocsin. Not the state directory: `check` may run before the daemon
    ever made one, as another user, and creates no state."""
    if systemd := os.environ.get("CACHE_DIRECTORY"):
        return Path(systemd.split(":")[0])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tocsin"


def costly_rules(rules: RuleSet, limit_s: float = COSTLY_PROBE_S, cache: Path | None = None) -> list[Problem]:
    """A warning for each rule whose prefilter pass over the probe takes more than `limit_s` of CPU; costs already
    measured are read from `cache` (a directory; None: measure every rule, keep nothing)."""
    costs = _MeasuredCosts(cache / CACHE_FILE if cache else None)
    probe: str | None = None
    warnings = []
    for rule in rules.rules:
        patterns = tuple(dict.fromkeys(rule.condition.patterns()))
        if not patterns:
            continue
        spent = costs.get(patterns)
        if spent is None:
            probe = probe or probe_text()
            spent = costs.put(patterns, _measure(patterns, probe))
        if spent > limit_s:
            file, _, line = rule.source.rpartition(":")  # where the rule's id is written, `file:line`
            warnings.append(Problem(
                f"matching it costs {spent * 1000:,.0f} ms of CPU per item of {MAX_SCANNED_CHARS:,} characters "
                f"({len(patterns):,} patterns; over {limit_s * 1000:,.0f} ms is out of line): every poll pays this "
                "for every new item; shorten its term lists, or move them into a `regex` of alternatives, which RE2 "
                "scans as one pattern",
                file=file, line=int(line) if line.isdigit() else None, subject=f'rule "{rule.id}"', severity="warning",
            ))
    costs.save()
    return warnings


def _measure(patterns: tuple[str, ...], probe: str) -> float:
    prefilter = Prefilter(patterns)
    started = time.thread_time()
    prefilter.hits(probe)
    return time.thread_time() - started


class _MeasuredCosts:
    """Costs by the digest of a rule's patterns, read from and written back to one JSON file. A file that cannot
    be read or written is no error: the rules are measured again."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._costs: dict[str, float] = {}
        self._changed = False
        self._engine = _engine_identity()
        if path is None:
            return
        try:
            stored = json.loads(path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.debug("rule costs in %s not read: %s", path, exc)
            return
        if isinstance(stored, dict) and stored.get("format") == _CACHE_FORMAT and isinstance(stored.get("costs"), dict):
            self._costs = {key: float(cost) for key, cost in stored["costs"].items()
                           if isinstance(key, str) and isinstance(cost, int | float)}

    def get(self, patterns: tuple[str, ...]) -> float | None:
        return self._costs.get(self._key(patterns))

    def put(self, patterns: tuple[str, ...], cost: float) -> float:
        self._costs[self._key(patterns)] = cost
        self._changed = True
        return cost

    def _key(self, patterns: tuple[str, ...]) -> str:
        digest = hashlib.sha256(f"{self._engine}\0{MAX_SCANNED_CHARS}\0{_PROBE_SEED}".encode())
        for pattern in patterns:
            digest.update(b"\0" + pattern.encode())
        return digest.hexdigest()

    def save(self) -> None:
        if self._path is None or not self._changed:
            return
        kept = dict(list(self._costs.items())[-_CACHE_KEPT:])
        text = json.dumps({"format": _CACHE_FORMAT, "costs": kept}, separators=(",", ":"))
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # A whole file or none: two checks at once each write theirs, the last one stays.
            descriptor, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=f".{CACHE_FILE}.")
        except OSError as exc:
            log.debug("rule costs not kept in %s: %s", self._path.parent, exc)
            return
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
            Path(temporary).replace(self._path)
        except OSError as exc:
            log.debug("rule costs not kept in %s: %s", self._path, exc)
            with contextlib.suppress(OSError):
                Path(temporary).unlink()


def _engine_identity() -> str:
    """The RE2 build (its extension's size and time): a new build may scan at another cost."""
    try:
        stat = Path(re2._re2.__file__).stat()
    except (AttributeError, OSError):
        return "unknown"
    return f"{stat.st_size}:{stat.st_mtime_ns}"
