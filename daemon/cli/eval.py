"""`tocsin eval`: measure rules on labelled items (docs/rules.md, "Measuring a pack"): per-tag gold, fired, right,
precision, recall and F1, the macro-F1, the share of untagged items kept quiet, and on request the errors.

Exit 0 after a report, 1 when a labels or items file cannot be read, 78 when the rules are invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from tocsin.cli.common import EX_CONFIG, EX_FAILURE, EX_OK, EX_USAGE, print_problems
from tocsin.errors import ParseError, RuleError
from tocsin.items import Item, content_hash
from tocsin.matching.acled import read_acled
from tocsin.matching.evaluate import (
    TAGS,
    Error,
    Evaluation,
    LabelError,
    LabelledItem,
    evaluate,
    read_labelled,
    read_labels,
    split_part,
)
from tocsin.matching.rules import load_rules
from tocsin.parse import FeedSource, parse_feed
from tocsin.parse.normalize import MAX_SUMMARY_CHARS
from tocsin.parse.text import plain_text


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the rules on labelled items and print, per tag, how many were expected (gold), fired and "
        "right, with precision, recall and F1; then the macro-F1 and the share of items without a "
        "tag that stayed quiet."
    )
    parser.add_argument("--labels", metavar="LABELS.jsonl", type=Path,
                        help="one JSON object a line: id, labels (list of tags); with --acled, tags added to the "
                             "coded ones")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--items", metavar="ITEMS.jsonl", type=Path,
                        help="one JSON object a line: id, title, description, published")
    source.add_argument("--feeds", metavar="DIR", type=Path,
                        help="saved feed files; an item's id is FILE#HASH (the first 12 hex digits of its "
                             "content hash), as `tocsin eval --feeds DIR --list-ids` prints them")
    source.add_argument("--acled", metavar="EVENTS.csv", type=Path,
                        help="an ACLED export: notes as summaries, tags from the event coding (docs/rules.md)")
    parser.add_argument("--list-ids", action="store_true",
                        help="with --feeds: print each item's id and title, to label them, and stop")
    parser.add_argument("--rules", metavar="PATH", action="append", type=Path,
                        help="rule file or directory (repeatable; default: ./rules)")
    parser.add_argument("--part", choices=("all", "tuning", "check"), default="all",
                        help="score only the tuning (2/3) or check (1/3) part of the fixed split by item id")
    parser.add_argument("--tags", metavar="TAG,...", type=_tag_list, default=TAGS,
                        help=f"tags to score (default: {','.join(TAGS)})")
    parser.add_argument("--show-errors", metavar="N", type=int, default=0,
                        help="list up to N false alarms and N misses per tag")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.set_defaults(handler=handle)


def _tag_list(value: str) -> tuple[str, ...]:
    tags = tuple(tag.strip() for tag in value.split(",") if tag.strip())
    if not tags:
        raise argparse.ArgumentTypeError("at least one tag is needed")
    return tags


def handle(args: argparse.Namespace) -> int:
    try:
        rules = load_rules(args.rules or [Path("rules")])
    except RuleError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    if args.labels is None and not args.acled and not args.list_ids:
        print_problems(["--labels is needed with --items and --feeds"])
        return EX_USAGE
    try:
        if args.feeds and args.list_ids:
            for item_id, item in feed_items(args.feeds):
                print(f"{item_id}\t{item.title}")
            return EX_OK
        labelled, without_label = _read(args)
    except LabelError as exc:
        print_problems([str(exc)])
        return EX_FAILURE
    if args.part != "all":
        labelled = [case for case in labelled if split_part(case.item.id) == args.part]
    result = evaluate(rules, labelled, args.tags)
    if args.json:
        print(json.dumps({"part": args.part, "without_label": without_label, **result.to_json()}))
    else:
        print_table(result, sys.stdout)
        if without_label:
            print(f"{without_label} item(s) without a label line were not scored")
    if args.show_errors > 0 and not args.json:
        print_errors(result, args.show_errors, sys.stdout)
    return EX_OK


def _read(args: argparse.Namespace) -> tuple[list[LabelledItem], int]:
    if args.acled:
        return read_acled(args.acled, args.labels), 0
    if args.feeds:
        return read_feeds(args.feeds, args.labels)
    return read_as_published(args.items, args.labels)


def read_feeds(directory: Path, labels_path: Path) -> tuple[list[LabelledItem], int]:
    """The labelled items of the feed files in `directory`, and how many had no label line."""
    labels = read_labels(labels_path)
    items = list(feed_items(directory))
    cases = [LabelledItem(item, labels[item_id]) for item_id, item in items if item_id in labels]
    return cases, len(items) - len(cases)


def feed_items(directory: Path) -> Iterator[tuple[str, Item]]:
    """(id, item) for every item of every feed file in `directory` that parses, as the daemon would read it."""
    if not directory.is_dir():
        raise LabelError(f"{directory}: not a directory of feed files")
    fetched_at = datetime(2026, 1, 1, tzinfo=UTC)
    for path in sorted(directory.iterdir()):
        try:
            parsed = parse_feed(path.read_bytes(), FeedSource(name=path.name, url=path.resolve().as_uri()), fetched_at)
        except (ParseError, OSError):
            continue
        for item in parsed.items:
            yield f"{path.name}#{content_hash(item.title, item.summary)[:12]}", item


def read_as_published(items: Path, labels: Path) -> tuple[list[LabelledItem], int]:
    """Labelled items whose descriptions read as the daemon reads an RSS description: as HTML, tags dropped and
    entities decoded (a Guardian description's links would otherwise be matched as words)."""
    return read_labelled(items, labels, lambda description: plain_text(description, MAX_SUMMARY_CHARS))


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(result: Evaluation, out: TextIO) -> None:
    print(f"{'tag':<14}{'gold':>6}{'fired':>7}{'right':>7}{'precision':>11}{'recall':>8}{'F1':>6}", file=out)
    for tag in result.tags:
        score = result.scores[tag]
        print(f"{tag:<14}{score.gold:>6}{score.fired:>7}{score.right:>7}{_figure(score.precision):>11}"
              f"{_figure(score.recall):>8}{_figure(score.f1):>6}", file=out)
    print(f"macro-F1 {_figure(result.macro_f1)} over {result.items} item(s); "
          f"{result.untagged_quiet} of {result.untagged} untagged item(s) kept quiet "
          f"({_figure(result.quiet_share)})", file=out)


def print_errors(result: Evaluation, limit: int, out: TextIO) -> None:
    for tag in result.tags:
        for kind, plural in (("false alarm", "false alarms"), ("miss", "misses")):
            errors = [error for error in result.errors if error.tag == tag and error.kind == kind]
            if not errors:
                continue
            print(f"\n{tag}: {len(errors)} {kind if len(errors) == 1 else plural}"
                  f"{f' (first {limit})' if len(errors) > limit else ''}", file=out)
            for error in errors[:limit]:
                _print_error(error, out)


def _print_error(error: Error, out: TextIO) -> None:
    item = error.item
    print(f"  {item.id}: {item.title}", file=out)
    if item.summary:
        print(f"      {item.summary[:200]}{'…' if len(item.summary) > 200 else ''}", file=out)
    for match in error.matches:
        evidence = ", ".join(f"{found.field} \"{found.text}\"" for found in match.evidence)
        print(f"      {'fired' if error.kind == 'false alarm' else 'also fired'}: {match.rule} "
              f"[{', '.join(match.tags)}] on {evidence or 'no evidence'}", file=out)
