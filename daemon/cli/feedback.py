"""`tocsin feedback`: an analyst's verdicts recorded as labelled items in the state directory (feedback/), and
exported for `tocsin eval` (matching/feedback.py).

    tocsin feedback ALERT_ID --false-positive [--tags TAG,...] [--note TEXT]
    tocsin feedback --missed URL --title TEXT [--summary TEXT] --tags TAG,... [--note TEXT]
    tocsin feedback export DIR

Exit 0 when recorded or exported, 1 when the alert is unknown or the files cannot be read or written, 64 for a
usage error, 78 for an invalid configuration.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from tocsin.cli.common import EX_FAILURE, EX_OK, EX_USAGE, add_config_argument, open_state, print_problems
from tocsin.config import Settings
from tocsin.errors import RuleError
from tocsin.matching.evaluate import TAGS, LabelError
from tocsin.matching.feedback import FeedbackLog, Judged, false_positive, missed
from tocsin.rulebook import load_rulebook
from tocsin.rulefiles import did_you_mean
from tocsin.store.outbox import OutboxStore

FEEDBACK_DIR = "feedback"


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Record an alert as a false positive, or an item the rules missed, as labelled items in the state "
        "directory; `export DIR` writes them as `tocsin eval --items DIR/items.jsonl --labels DIR/labels.jsonl` "
        "reads them."
    )
    add_config_argument(parser)
    parser.add_argument("words", nargs="*", metavar="ALERT_ID | export DIR",
                        help="the alert judged (alrt_...), or export and the directory to write")
    parser.add_argument("--false-positive", action="store_true", help="the alert should not have fired")
    parser.add_argument("--missed", metavar="URL", help="the link of an item the rules should have fired on")
    parser.add_argument("--title", help="with --missed: the item's title, as the feed gave it")
    parser.add_argument("--summary", default="", help="with --missed: the item's summary")
    parser.add_argument("--tags", metavar="TAG,...", default="",
                        help="what the item really reports (with --false-positive: default none of the tags)")
    parser.add_argument("--note", default="", help="why, for whoever tunes the rules")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    exporting = args.words[:1] == ["export"]
    problem = _usage_problem(args, exporting)
    if problem:
        print_problems([f"feedback: {problem}"])
        return EX_USAGE
    opened = open_state(args)
    if isinstance(opened, int):
        return opened
    settings, db = opened
    log = FeedbackLog(settings.state_path / FEEDBACK_DIR)
    now = datetime.now(UTC)
    tags = [tag.strip() for tag in args.tags.split(",") if tag.strip()]
    try:
        if exporting:
            count = log.export(Path(args.words[1]))
            print(f"{count} labelled item(s) written to {args.words[1]}/items.jsonl and labels.jsonl; measure "
                  f"with: tocsin eval --items {args.words[1]}/items.jsonl --labels {args.words[1]}/labels.jsonl")
            return EX_OK
        unknown = _unknown_tags(settings, tags)
        if unknown:
            print_problems(unknown)
            return EX_USAGE
        if args.missed:
            judged = [missed(args.missed, args.title, args.summary, tags, args.note, now)]
        else:
            found = OutboxStore(db).alerts([args.words[0]])
            if not found:
                print_problems([f"feedback: no alert {args.words[0]!r} in the state database "
                                "(tocsin alerts --recent N lists them)"])
                return EX_FAILURE
            judged = false_positive(found[0], tags, args.note, now)
        log.record(judged)
    except (LabelError, ValueError) as exc:
        print_problems([str(exc)])
        return EX_FAILURE
    except OSError as exc:
        print_problems([f"{log.directory}: cannot record the feedback ({exc.strerror})"])
        return EX_FAILURE
    finally:
        db.close()
    _print_recorded(judged)
    return EX_OK


def _usage_problem(args: argparse.Namespace, exporting: bool) -> str | None:
    if exporting:
        return None if len(args.words) == 2 else "write `tocsin feedback export DIR`"
    if args.missed:
        if args.words or args.false_positive:
            return "--missed records an item that no alert names: give no ALERT_ID nor --false-positive"
        if not args.title:
            return "--missed needs the item's --title (and its --summary when it has one): what the rules read"
        return None
    if len(args.words) != 1 or not args.false_positive:
        return "give ALERT_ID --false-positive, --missed URL --title TEXT --tags TAG,..., or export DIR"
    return None


def _unknown_tags(settings: Settings, tags: list[str]) -> list[str]:
    """A problem for each tag that no rule gives and eval does not score: a typo would label an item with a
    tag nothing measures."""
    known = set(TAGS)
    try:
        rulebook = load_rulebook(settings.rule_paths)
        known.update(tag for rule in getattr(rulebook.matching, "rules", ()) for tag in rule.tags)
    except RuleError:
        pass  # tocsin check reports the rules' problems; the scored tags are still known
    return [f'feedback: --tags: unknown tag "{tag}"{did_you_mean(tag, sorted(known), "known tags")}'
            for tag in tags if tag not in known]


def _print_recorded(judged: list[Judged]) -> None:
    for record in judged:
        labels = ", ".join(record.label["labels"]) or "no tag"
        print(f"{record.id}  {record.label['feedback']}  labelled {labels}: {record.item['title']}")
