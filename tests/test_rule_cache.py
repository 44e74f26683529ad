"""The compiled rules cached in the state directory (rulecache.py): reused while the rule files are unchanged,
rebuilt when a file's content changes (whatever its mtime says), ignored when damaged or not ours, and a rule set
read from the cache behaves as one compiled from the files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import shared_path
from tests.matching_support import DEFAULT_RULES, REPO, item
from tocsin.items import Item
from tocsin.rulebook import RuleBook, compile_both, load_rulebook
from tocsin.rulecache import FILE_NAME, Compiled, cached_rules

SMALL_RULE = """
[[rule]]
id = "heli-down"
title = "Helicopter shot down"
severity = "high"
tags = ["shootdown"]
all = [{ near = { a = ["helicopter"], b = ["shot down"], within = 5 } }]
"""


class Compiles:
    """The real compiler of rulebook.load_rulebook, counting its calls."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.calls = 0

    def __call__(self) -> Compiled:
        self.calls += 1
        return compile_both(self.paths)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "heli.toml").write_text(SMALL_RULE)
    return directory


@pytest.fixture
def state(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir()
    return directory


def ids(compiled: Compiled) -> list[str]:
    return [rule.id for rule in compiled[0].rules]


def test_reused_while_the_files_are_unchanged(rules_dir: Path, state: Path) -> None:
    compiles = Compiles([rules_dir])
    first = cached_rules([rules_dir], state, compiles)
    assert (state / FILE_NAME).is_file()
    again = cached_rules([rules_dir], state, compiles)
    assert compiles.calls == 1
    assert ids(again) == ids(first) == ["heli-down"]


def test_rebuilt_when_a_rule_file_changes_with_its_mtime_kept(rules_dir: Path, state: Path) -> None:
    compiles = Compiles([rules_dir])
    cached_rules([rules_dir], state, compiles)
    rule_file = rules_dir / "heli.toml"
    before = rule_file.stat()
    rule_file.write_text(SMALL_RULE.replace("heli-down", "heli-lost"))
    os.utime(rule_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ids(cached_rules([rules_dir], state, compiles)) == ["heli-lost"]
    assert compiles.calls == 2
    # ... and the new compilation is what the cache holds from then on.
    assert ids(cached_rules([rules_dir], state, compiles)) == ["heli-lost"]
    assert compiles.calls == 2


def test_rebuilt_when_a_rule_file_is_added(rules_dir: Path, state: Path) -> None:
    compiles = Compiles([rules_dir])
    cached_rules([rules_dir], state, compiles)
    (rules_dir / "more.toml").write_text(SMALL_RULE.replace("heli-down", "jet-down").replace("helicopter", "jet"))
    assert ids(cached_rules([rules_dir], state, compiles)) == ["heli-down", "jet-down"]
    assert compiles.calls == 2


def _truncated(text: bytes) -> bytes:
    return text[: len(text) // 2]


def _payload_changed(text: bytes) -> bytes:
    return text.replace(b"heli-down", b"heli-gone")  # still JSON, but the digest no longer matches


def _not_json(_: bytes) -> bytes:
    return b"\x00\xff garbage\n{"


def _foreign_class(text: bytes) -> bytes:
    """A payload naming a class that is not one of the rule modules', with a digest that matches it."""
    header, payload = text.split(b"\n", 1)
    payload = payload.replace(b'"tocsin.matching.load.Rule"', b'"subprocess.Popen"')
    fields = json.loads(header)
    fields["digest"] = hashlib.sha256(payload).hexdigest()
    return json.dumps(fields).encode() + b"\n" + payload


@pytest.mark.parametrize("damage", [_truncated, _payload_changed, _not_json, _foreign_class])
def test_a_damaged_cache_is_ignored_and_rewritten(rules_dir: Path, state: Path,
                                                   damage: Callable[[bytes], bytes]) -> None:
    compiles = Compiles([rules_dir])
    cached_rules([rules_dir], state, compiles)
    cache = state / FILE_NAME
    cache.write_bytes(damage(cache.read_bytes()))
    assert ids(cached_rules([rules_dir], state, compiles)) == ["heli-down"]
    assert compiles.calls == 2
    assert ids(cached_rules([rules_dir], state, compiles)) == ["heli-down"]
    assert compiles.calls == 2, "the rebuilt cache is used again"


def test_no_state_directory_yet_means_no_cache(rules_dir: Path, tmp_path: Path) -> None:
    compiles = Compiles([rules_dir])
    missing = tmp_path / "not-yet"
    cached_rules([rules_dir], missing, compiles)
    cached_rules([rules_dir], missing, compiles)
    assert compiles.calls == 2
    assert not missing.exists()


def test_rule_problems_are_reported_as_without_a_cache(rules_dir: Path, state: Path) -> None:
    from tocsin.errors import RuleError

    (rules_dir / "bad.toml").write_text('[[rule]]\nid = "x"\ntitle = "x"\nseverity = "urgent"\nany = ["war"]\n')
    with pytest.raises(RuleError) as without:
        load_rulebook([rules_dir])
    with pytest.raises(RuleError) as cached:
        load_rulebook([rules_dir], state)
    assert cached.value.problems == without.value.problems
    assert not (state / FILE_NAME).exists()


def _texts() -> list[Item]:
    """Every example and quiet text of the shipped rules, and a few headlines of each kind."""
    from tocsin.rulefiles import read_rule_files

    read = read_rule_files([DEFAULT_RULES])
    texts = [example["text"] if isinstance(example, dict) else example
             for source in read.parsed for rule in source.data.get("rule", [])
             for key in ("examples", "quiet") for example in rule.get(key, [])]
    texts += [
        "Militants shot down a helicopter near Idlib",
        "Russia masses 7000 troops and 2100 vehicles near the Ukrainian border",
        "Israel gives Hamas until the end of the month to withdraw",
        "Airstrikes on Kabul kill at least 12 civilians",
        "Tens of thousands displaced as fighting spreads in Darfur",
        "Rebels seize the town of Kunduz after days of fighting",
        "Ukrainian forces recapture Kherson as Russian troops withdraw",
        "Missile strike on Kharkiv apartment block kills 9",
        "US sends 3,000 more troops to Poland amid Russia buildup",
        "Ultimatum: Taliban give government 48 hours to surrender Kandahar",
        "Drone shot down over Belgorod, governor says",
        "At least 40 killed in Gaza airstrikes, health ministry says",
        "More than 1 million people have fled Ukraine, UN says",
        "Analysis: Could Russia invade Ukraine?",
        "Senate shoots down the budget deadline proposal",
        "Artillery shelling hits Donetsk as ceasefire collapses",
        "Hamas fires rockets at Tel Aviv; Israel responds with strikes on Gaza",
    ]
    return [item(text) for text in texts]


def _labelled() -> list[Item]:
    """One in eight of the labelled news items (the first match of each term compiles its regular expression,
    which makes all 1,146 take seconds)."""
    with shared_path("labels", "items.jsonl").open() as lines:
        rows = [json.loads(line) for line in lines][::8]
    return [Item(id=row["id"], feed="labels", title=row["title"], link=row.get("link") or "",
                 published=datetime.fromisoformat(row["published"]).astimezone(UTC),
                 summary=row.get("description") or "") for row in rows]


def _same_behaviour(fresh: RuleBook, cached: RuleBook, items: list[Item]) -> None:
    assert fresh.describe() == cached.describe()
    for one in items:
        assert [m.to_json() for m in cached.matching.match(one)] == [m.to_json() for m in fresh.matching.match(one)]
    assert cached.escalation.rules == fresh.escalation.rules
    assert dict(cached.escalation.regions) == dict(fresh.escalation.regions)


@pytest.fixture
def shipped_from_cache(state: Path) -> tuple[RuleBook, RuleBook]:
    fresh = load_rulebook([DEFAULT_RULES])
    load_rulebook([DEFAULT_RULES], state)
    assert (state / FILE_NAME).is_file()
    return fresh, load_rulebook([DEFAULT_RULES], state)


def test_the_shipped_rules_behave_the_same_from_the_cache(shipped_from_cache: tuple[RuleBook, RuleBook]) -> None:
    fresh, cached = shipped_from_cache
    texts = _texts()
    assert len(texts) >= 20
    fired = {m.rule for one in texts for m in fresh.matching.match(one)}
    assert len(fired) > 5, "the texts exercise the rules"
    _same_behaviour(fresh, cached, texts)


def test_the_labelled_news_match_the_same_from_the_cache(shipped_from_cache: tuple[RuleBook, RuleBook]) -> None:
    fresh, cached = shipped_from_cache
    _same_behaviour(fresh, cached, _labelled())


def test_run_once_keeps_the_rules_in_its_state_directory(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = ["{rules}"]\n[health]\nenabled = false\n')
    environment = {name: value for name, value in os.environ.items() if not name.upper().startswith("TOCSIN_")}

    def run_once() -> None:
        subprocess.run([sys.executable, "-m", "tocsin", "run", "--once", "--config", str(config)], env=environment,
                       capture_output=True, check=True, timeout=120)

    (tmp_path / "state").mkdir()
    run_once()
    cache = tmp_path / "state" / FILE_NAME
    written = cache.stat().st_mtime_ns
    run_once()
    assert cache.stat().st_mtime_ns == written, "an unchanged rule set is read, not written again"
