"""How well a rule set fires on labelled items: per-tag precision, recall and F1, macro-F1, and the share of
untagged items it keeps quiet, with the false alarms and misses behind the figures.

The labelled format is two JSON-lines files joined by `id`: items (`id`, `title`, `description`, `published`)
and labels (`id`, `labels`: a list of tags, possibly empty). An item without a label line is not scored.

`split_part(id)` puts every item, by a stable hash of its id, in the tuning part (two thirds) or the check part
(one third): the same split on every machine and every run, so rules tuned on one part can be measured honestly
on the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.matching.rules import RuleSet

TAGS = ("buildup", "deadline", "shootdown", "casualties", "displacement", "territorial", "strike")
Part = Literal["tuning", "check"]
CHECK_SHARE = 3
"""One item in CHECK_SHARE goes to the check part."""


class LabelError(ValueError):
    """A labels or items file that cannot be read: the message names the file and line."""


@dataclass(frozen=True, slots=True)
class LabelledItem:
    item: Item
    tags: frozenset[str]
    unscored: frozenset[str] = frozenset()
    """Tags the labels cannot decide for this item: it counts neither for nor against them."""


def split_part(item_id: str) -> Part:
    """The part an item belongs to, from the first 8 bytes of the SHA-256 of its id."""
    digest = int.from_bytes(hashlib.sha256(item_id.encode("utf-8")).digest()[:8], "big")
    return "check" if digest % CHECK_SHARE == 0 else "tuning"


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise LabelError(f"{path}:{number}: a JSON object with a string \"id\" is expected")
        yield number, record


def _published(value: object, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise LabelError(f"{where}: \"published\" must be a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise LabelError(f"{where}: \"published\" {value!r} is not an ISO 8601 time") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_labels(labels_path: Path) -> dict[str, frozenset[str]]:
    """The tags of each id of a labels file."""
    labels: dict[str, frozenset[str]] = {}
    for number, record in json_lines(labels_path):
        tags = record.get("labels")
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise LabelError(f"{labels_path}:{number}: \"labels\" must be a list of tags")
        labels[record["id"]] = frozenset(tags)
    return labels


def read_labelled(items_path: Path, labels_path: Path,
                  description_text: Callable[[str], str] = str) -> tuple[list[LabelledItem], int]:
    """The labelled items, in the items file's order, and how many items had no label line. `description_text`
    turns a description as published (RSS descriptions are HTML) into the text the matcher sees."""
    labels = read_labels(labels_path)
    labelled: list[LabelledItem] = []
    unlabelled = 0
    for number, record in json_lines(items_path):
        where = f"{items_path}:{number}"
        if record["id"] not in labels:
            unlabelled += 1
            continue
        title, summary = record.get("title") or "", record.get("description") or ""
        if not isinstance(title, str) or not isinstance(summary, str):
            raise LabelError(f"{where}: \"title\" and \"description\" must be strings")
        item = Item(id=record["id"], feed=str(record.get("source") or items_path.name), title=title,
                    link=str(record.get("link") or ""), published=_published(record.get("published"), where),
                    summary=description_text(summary))
        labelled.append(LabelledItem(item, labels[record["id"]]))
    return labelled, unlabelled


@dataclass
class TagScore:
    gold: int = 0
    fired: int = 0
    right: int = 0

    @property
    def precision(self) -> float | None:
        return self.right / self.fired if self.fired else None

    @property
    def recall(self) -> float | None:
        return self.right / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        """None when the tag was neither expected nor fired: nothing to measure."""
        if not self.gold and not self.fired:
            return None
        return 2 * self.right / (self.gold + self.fired)


@dataclass(frozen=True, slots=True)
class Error:
    kind: Literal["false alarm", "miss"]
    tag: str
    item: Item
    matches: tuple[Match, ...]
    """For a false alarm, the matches that gave the tag; for a miss, whatever else fired."""


@dataclass
class Evaluation:
    tags: tuple[str, ...]
    scores: dict[str, TagScore]
    items: int = 0
    untagged: int = 0
    untagged_quiet: int = 0
    errors: list[Error] = field(default_factory=list)

    @property
    def macro_f1(self) -> float | None:
        """The mean F1 over the tags that have one."""
        scores = [f1 for tag in self.tags if (f1 := self.scores[tag].f1) is not None]
        return sum(scores) / len(scores) if scores else None

    @property
    def quiet_share(self) -> float | None:
        return self.untagged_quiet / self.untagged if self.untagged else None

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "tags": {tag: {"gold": score.gold, "fired": score.fired, "right": score.right,
                           "precision": score.precision, "recall": score.recall, "f1": score.f1}
                     for tag, score in self.scores.items()},
            "macro_f1": self.macro_f1,
            "untagged": self.untagged,
            "untagged_quiet": self.untagged_quiet,
            "quiet_share": self.quiet_share,
        }


def evaluate(rules: RuleSet, labelled: Iterable[LabelledItem], tags: tuple[str, ...] = TAGS) -> Evaluation:
    """Run the rules on every item and count, per tag, the expected, fired and right ones. Tags a rule gives
    that are not in `tags` are ignored (an item fired only by those still counts as quiet)."""
    result = Evaluation(tags, {tag: TagScore() for tag in tags})
    for case in labelled:
        matches = rules.match(case.item)
        fired = {tag for match in matches for tag in match.tags} & set(tags)
        result.items += 1
        if not case.tags & set(tags):
            result.untagged += 1
            result.untagged_quiet += not fired
        for tag in tags:
            if tag in case.unscored:
                continue
            expected, given = tag in case.tags, tag in fired
            score = result.scores[tag]
            score.gold += expected
            score.fired += given
            score.right += expected and given
            if given and not expected:
                result.errors.append(Error("false alarm", tag, case.item,
                                           tuple(match for match in matches if tag in match.tags)))
            elif expected and not given:
                result.errors.append(Error("miss", tag, case.item, tuple(matches)))
    return result
