"""Synthetic rule files, for measuring what thousands of analyst rules cost beside the default pack.

The mix imitates a large rule base: every rule has a few terms (single words, two-word phrases, wildcards), one in
five adds a proximity condition, one in twenty a regular expression. Most terms are invented words that news text
never contains. About one rule in ten uses ordinary news words, which the prefilter finds often, together with a
proximity condition on an invented word, which then fails: the rules' positional checks run as they would with
real rules, without the synthetic rules flooding the outbox with alerts no real rule base would raise.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

_NEWS_WORDS = ("port", "harvest", "bridge", "council", "election", "fuel", "bank", "school", "railway", "flood",
               "strike", "convoy", "border", "minister", "talks", "prices", "market", "hospital", "protest", "court")
_SYLLABLES = ("ka", "lo", "mi", "ren", "tu", "vo", "shi", "dra", "qel", "zor", "phu", "gan", "tis", "bre", "wyn")


def _invented_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4)))


def _term(rng: random.Random, ordinary: bool) -> str:
    words = [rng.choice(_NEWS_WORDS) if ordinary else _invented_word(rng) for _ in range(rng.choice((1, 1, 2)))]
    if rng.random() < 0.2:
        words[-1] += "*"
    return " ".join(words)


def rule_toml(number: int, rng: random.Random) -> str:
    ordinary = rng.random() < 0.1
    terms = [_term(rng, ordinary) for _ in range(rng.randint(2, 4))]
    lines = [
        "[[rule]]",
        f'id = "synthetic-{number:05d}"',
        f'title = "Synthetic rule {number}"',
        'description = "Generated for the memory and matcher benchmarks."',
        f'severity = "{rng.choice(("info", "low", "medium"))}"',
        'tags = ["synthetic"]',
        f"any = {json.dumps(terms)}",
    ]
    if rng.random() < 0.05:
        lines.append(f"regex = {json.dumps(_invented_word(rng) + '[0-9]{2,4}')}")
    if ordinary or rng.random() < 0.2:
        near_a = [_term(rng, ordinary)]
        near_b = [_invented_word(rng)]
        lines += ["", "[rule.near]", f"a = {json.dumps(near_a)}", f"b = {json.dumps(near_b)}", "within = 5"]
    return "\n".join(lines) + "\n"


def write_synthetic_rules(directory: Path, count: int, seed: int = 7) -> Path:
    """Write `count` rules into directory/synthetic.toml and return the directory."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "synthetic.toml").write_text("\n".join(rule_toml(number, rng) for number in range(count)))
    return directory
