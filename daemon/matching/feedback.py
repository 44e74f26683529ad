"""Analyst feedback as labelled items: an alert that should not have fired (a false positive) and an item the rules
missed become items and labels in the format `tocsin eval` measures (evaluate.py), so a desk's own mistakes and
misses become its evaluation set.

The state directory keeps them in `feedback/`: `items.jsonl` and `labels.jsonl`, one line appended per record,
never rewritten (a second judgement of the same item is a later line). `export` writes one line per item, the
latest judgement, as `tocsin eval --items DIR/items.jsonl --labels DIR/labels.jsonl` reads them.

An item's id is `fb_` and the content hash of its link (its title when it has none), so the same article judged
twice, from two alerts or as an alert and as a miss, is one item. A description is written HTML-escaped: eval
reads descriptions as RSS publishes them (as HTML), and gets back exactly the text the daemon matched.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from tocsin.alerts import Alert, iso
from tocsin.items import content_hash
from tocsin.matching.evaluate import LabelError, json_lines

ITEMS = "items.jsonl"
LABELS = "labels.jsonl"
Verdict = Literal["false-positive", "missed"]


@dataclass(frozen=True, slots=True)
class Judged:
    """One labelled item: the item line and the label line, joined by the item's id."""

    item: dict[str, Any]
    label: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.item["id"])


def item_id(link: str, title: str) -> str:
    return "fb_" + content_hash(link or title)[:16]


def false_positive(alert: Alert, tags: Sequence[str], note: str, now: datetime) -> list[Judged]:
    """The items behind `alert` (a digest: behind its members) labelled with `tags`, what they really report
    (none: they report nothing the rules should fire on). Raises ValueError for an alert about no item."""
    judged = []
    for source in alert.members or (alert,):
        # A match alert's summary is the item's sentences that hold the evidence, then a line of the facts read.
        excerpt = source.summary.split("\n")[0] if source.kind == "match" else ""
        for item in source.items:
            judged.append(_judged(
                item.link, item.title, excerpt, item.feed, iso(item.published) if item.published else None,
                tags, note, now, verdict="false-positive", alert=source.id, rule=source.rule,
                fired=list(source.tags),
            ))
    if not judged:
        raise ValueError(f"alert {alert.id} is a {alert.kind} alert about no item; give the id of an alert of an "
                         "item (tocsin alerts --recent N lists them)")
    return judged


def missed(link: str, title: str, summary: str, tags: Sequence[str], note: str, now: datetime) -> Judged:
    """An item the rules should have fired on for `tags`."""
    if not tags:
        raise ValueError("a missed item needs the tags it should have fired (--tags strike,casualties)")
    return _judged(link, title, summary, "feedback", None, tags, note, now, verdict="missed", alert=None, rule=None,
                   fired=None)


def _judged(link: str, title: str, summary: str, feed: str, published: str | None, tags: Sequence[str], note: str,
            now: datetime, *, verdict: Verdict, alert: str | None, rule: str | None,
            fired: list[str] | None) -> Judged:
    identifier = item_id(link, title)
    item = {"id": identifier, "title": title, "description": html.escape(summary, quote=False), "link": link,
            "published": published, "source": feed}
    label: dict[str, Any] = {"id": identifier, "labels": sorted(set(tags)), "feedback": verdict,
                             "recorded_at": iso(now)}
    if alert:
        label |= {"alert": alert, "rule": rule, "fired": fired}
    if note:
        label["why"] = note
    return Judged(item, label)


class FeedbackLog:
    """The labelled items of one state directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def record(self, judged: Sequence[Judged]) -> None:
        """Append the records, the items first: a label line never names an item that is not written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, lines in ((ITEMS, [j.item for j in judged]), (LABELS, [j.label for j in judged])):
            with (self.directory / name).open("a", encoding="utf-8") as file:
                file.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
                file.flush()
                os.fsync(file.fileno())

    def latest(self) -> list[Judged]:
        """Every item once, with its latest judgement, in the order first recorded. Raises LabelError (file and
        line) for a damaged line."""
        if not (self.directory / LABELS).exists():
            return []
        items = {record["id"]: record for _number, record in json_lines(self.directory / ITEMS)}
        labels = {record["id"]: record for _number, record in json_lines(self.directory / LABELS)}
        return [Judged(items[identifier], label) for identifier, label in labels.items() if identifier in items]

    def export(self, destination: Path) -> int:
        """Write `items.jsonl` and `labels.jsonl` into `destination`; return how many items."""
        judged = self.latest()
        try:
            destination.mkdir(parents=True, exist_ok=True)
            for name, lines in ((ITEMS, [j.item for j in judged]), (LABELS, [j.label for j in judged])):
                (destination / name).write_text("".join(json.dumps(line, ensure_ascii=False) + "\n"
                                                        for line in lines), encoding="utf-8")
        except OSError as exc:
            raise LabelError(f"{destination}: cannot write the labelled items ({exc.strerror})") from None
        return len(judged)
