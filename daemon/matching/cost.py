"""What matching one rule costs, measured once when `tocsin check` loads the rules, so that a rule out of line
(a list of thousands of terms pasted in) is reported before it slows every poll.

The prefilter's cost per item is RE2's pass over the text with every pattern at once; it depends on the patterns
and the text together, and no count predicts it well (one regular expression of 10,000 alternatives is cheap, the
same 10,000 as terms are not). So each rule's own patterns go into a Set of their own and scan a probe text of
MAX_SCANNED_CHARS, the most matching reads of a summary; the CPU time of that pass is the rule's cost.
"""

from __future__ import annotations

import random
import string
import time

from tocsin.errors import Problem
from tocsin.matching.prefilter import Prefilter
from tocsin.matching.rules import MAX_SCANNED_CHARS, RuleSet

COSTLY_PROBE_S = 0.25
"""CPU time per probe above which a rule is out of line: about six times the heaviest shipped rule (casualties,
686 patterns, about 40 ms on a 2-core VM); a rule of 10,000 terms takes about 1.5 s."""
_PROBE_SEED = 18


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


def costly_rules(rules: RuleSet, limit_s: float = COSTLY_PROBE_S) -> list[Problem]:
    """A warning for each rule whose prefilter pass over the probe takes more than `limit_s` of CPU."""
    probe = probe_text()
    warnings = []
    for rule in rules.rules:
        patterns = tuple(dict.fromkeys(rule.condition.patterns()))
        if not patterns:
            continue
        prefilter = Prefilter(patterns)
        started = time.thread_time()
        prefilter.hits(probe)
        spent = time.thread_time() - started
        if spent > limit_s:
            file, _, line = rule.source.rpartition(":")  # where the rule's id is written, `file:line`
            warnings.append(Problem(
                f"matching it costs {spent * 1000:,.0f} ms of CPU per item of {MAX_SCANNED_CHARS:,} characters "
                f"({len(patterns):,} patterns; over {limit_s * 1000:,.0f} ms is out of line): every poll pays this "
                "for every new item; shorten its term lists, or move them into a `regex` of alternatives, which RE2 "
                "scans as one pattern",
                file=file, line=int(line) if line.isdigit() else None, subject=f'rule "{rule.id}"', severity="warning",
            ))
    return warnings
