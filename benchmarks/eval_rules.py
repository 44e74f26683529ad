"""Precision and recall of the default rule pack, per tag, on real text.

Two sources (both under ../shared/corpus, never copied into the repository):

1. ACLED events (acled/acled-2022-h1.csv): each event's `notes` is the item's summary, and its event type says
   which tags it should raise. The mapping, and why the other tags are not measured on ACLED:
   - strike      <- sub_event_type "Air/drone strike" or "Shelling/artillery/missile attack"
   - casualties  <- fatalities > 0. Our tag also covers the wounded and ACLED counts only deaths, so events
                    without deaths whose notes report people injured or wounded are left out of the casualties
                    score (neither true nor false): the fatality count cannot say what they are.
   - territorial <- sub_event_type "Non-state actor overtakes territory", "Government regains territory" or
                    "Non-violent transfer of territory"; and, labelled by hand in benchmarks/labels/acled.tsv,
                    other events (mostly "Armed clash") whose notes report a town, site or position taken: every
                    event whose notes contain a word of capture or taking control was read.
   - buildup, deadline, shootdown, displacement: ACLED has no event type that means exactly these, so they are
     labelled by hand in benchmarks/labels/acled.tsv (event id, tags, a reason in our words). Read and labelled:
     every event whose notes ACLED opens with "Movement of forces:" (deployments and reinforcements are buildup,
     routine patrols and supply convoys are not), "Interception:" or "Displacement:", every event whose notes
     contain a word of flight (fled, flee, displac, evacuat, refugee, IDP), of shooting down (shot down, shoot
     down, intercept, downed) or of a deadline (ultimatum, deadline), and every event the pack tagged with one of
     the four. An event not in the file has none of the four tags.
   Limits: ACLED notes are terse analyst prose, not headlines; a note may mention a strike or a death that is not
   the coded event ("...in retaliation for shelling the day before"), which this scoring counts against us.
2. The items of the real feeds in feeds/, labelled by hand in benchmarks/labels/feeds.tsv (file, hash of the
   title, tags, title). Every item whose text contains one of the broad words in `_REVIEW_WORDS`, or that the
   pack matched, was read and labelled; the other items were checked by title only and count as untagged.

Run: `python -m benchmarks.eval_rules [--errors TAG] [--unlabelled]`.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tocsin.errors import ParseError
from tocsin.items import Item, content_hash
from tocsin.matching.rules import RuleSet, load_rules
from tocsin.parse import FeedSource, parse_feed

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
ACLED = SHARED / "corpus" / "acled" / "acled-2022-h1.csv"
FEEDS = SHARED / "corpus" / "feeds"
LABELS = Path(__file__).resolve().parent / "labels" / "feeds.tsv"
ACLED_LABELS = Path(__file__).resolve().parent / "labels" / "acled.tsv"
TAGS = ("buildup", "deadline", "shootdown", "casualties", "displacement", "territorial", "strike")
ACLED_TAGS = TAGS
_STRIKE = {"Air/drone strike", "Shelling/artillery/missile attack"}
_TERRITORIAL = {"Non-state actor overtakes territory", "Government regains territory",
                "Non-violent transfer of territory"}
_REVIEW_WORDS = re.compile(
    r"\b(kill|dead|death|die|wound|injur|war|attack|strike|shell|bomb|missile|rocket|drone|troop|soldier|army|"
    r"military|forces|refugee|flee|fled|displac|evacuat|siege|captur|seiz|ultimatum|deadline|shot down|"
    r"intercept|helicopter|jet|offensive|invasion|militant|rebel|gunmen|clash|fighting)",
    re.IGNORECASE,
)


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else float("nan")

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else float("nan")

    def add(self, expected: bool, predicted: bool, example: str) -> None:
        if expected and predicted:
            self.true_positives += 1
        elif predicted:
            self.false_positives += 1
            self.errors.append(("FP", example))
        elif expected:
            self.false_negatives += 1
            self.errors.append(("FN", example))


_WOUNDED = re.compile(r"\b(injur|wound)", re.IGNORECASE)


def acled_unscored(row: dict[str, str]) -> set[str]:
    """Tags the ACLED coding cannot decide for this row (see the module docstring)."""
    if int(row["fatalities"] or 0) == 0 and _WOUNDED.search(row["notes"]):
        return {"casualties"}
    return set()


def acled_truth(row: dict[str, str], labels: dict[str, set[str]]) -> set[str]:
    truth = set(labels.get(row["event_id_cnty"], ()))
    if row["sub_event_type"] in _STRIKE:
        truth.add("strike")
    if int(row["fatalities"] or 0) > 0:
        truth.add("casualties")
    if row["sub_event_type"] in _TERRITORIAL:
        truth.add("territorial")
    return truth


def acled_items(path: Path = ACLED) -> Iterator[tuple[Item, set[str], set[str]]]:
    labels = read_labels(ACLED_LABELS, key_columns=1)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            published = datetime.fromisoformat(row["event_date"]).replace(tzinfo=UTC)
            notes = re.sub(r"\s*\[size=[^\]]*\]", "", row["notes"])
            yield (Item(id=row["event_id_cnty"], feed="acled", title="", link="", published=published,
                        summary=notes), acled_truth(row, labels), acled_unscored(row))


def feed_items(directory: Path = FEEDS) -> Iterator[tuple[str, Item]]:
    """(label key, item) for every item of every parseable feed file; the key is `file<TAB>hash of title`."""
    fetched_at = datetime(2026, 1, 1, tzinfo=UTC)
    for path in sorted(directory.iterdir()):
        try:
            parsed = parse_feed(path.read_bytes(), FeedSource(name=path.name, url=path.as_uri()), fetched_at)
        except ParseError:
            continue
        for item in parsed.items:
            yield f"{path.name}\t{content_hash(item.title, item.summary)[:12]}", item


def read_labels(path: Path = LABELS, key_columns: int = 2) -> dict[str, set[str]]:
    """Tags by key: the first `key_columns` columns (feeds.tsv: file and hash; acled.tsv: event id), then tags."""
    labels: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        labels["\t".join(columns[:key_columns])] = {tag for tag in columns[key_columns].split(",") if tag != "-"}
    return labels


def score(rules: RuleSet, cases: Iterator[tuple[Item, set[str], set[str]]], tags: tuple[str, ...]) -> \
        dict[str, Score]:
    """Score (item, expected tags, tags left unscored for this item) cases per tag."""
    scores = {tag: Score() for tag in tags}
    for item, expected, unscored in cases:
        predicted = {tag for match in rules.match(item) for tag in match.tags}
        example = f"{item.id}: {item.title} {item.summary[:300]}"
        for tag in tags:
            if tag not in unscored:
                scores[tag].add(tag in expected, tag in predicted, example)
    return scores


def evaluate_acled(rules: RuleSet, path: Path = ACLED) -> dict[str, Score]:
    return score(rules, acled_items(path), ACLED_TAGS)


def evaluate_feeds(rules: RuleSet, directory: Path = FEEDS) -> dict[str, Score]:
    labels = read_labels()
    cases = ((item, labels.get(key, set()), set()) for key, item in feed_items(directory))
    return score(rules, cases, TAGS)


def print_table(name: str, scores: dict[str, Score]) -> None:
    print(f"\n{name}")
    print(f"{'tag':<14}{'precision':>10}{'recall':>8}{'TP':>6}{'FP':>6}{'FN':>6}")
    for tag, found in scores.items():
        print(f"{tag:<14}{found.precision:>10.3f}{found.recall:>8.3f}{found.true_positives:>6}"
              f"{found.false_positives:>6}{found.false_negatives:>6}")


def print_unlabelled(rules: RuleSet) -> None:
    """Items still to label by hand: those with a review word or a match and no line in the labels file."""
    labels = read_labels() if LABELS.exists() else {}
    for key, item in feed_items():
        if key in labels:
            continue
        predicted = sorted({tag for match in rules.match(item) for tag in match.tags})
        if predicted or _REVIEW_WORDS.search(f"{item.title} {item.summary}"):
            print(f"{key}\t{','.join(predicted) or '-'}\t{item.title[:100]}\t| {item.summary[:400]}")


def main(argv: list[str]) -> None:
    rules = load_rules([REPO / "rules"])
    if "--unlabelled" in argv:
        print_unlabelled(rules)
        return
    acled, feeds = evaluate_acled(rules), evaluate_feeds(rules)
    print_table(f"ACLED {ACLED.name} (notes as summaries)", acled)
    print_table(f"Hand-labelled feed items ({LABELS.relative_to(REPO)})", feeds)
    if "--errors" in argv:
        wanted = argv[argv.index("--errors") + 1]
        for source in (acled, feeds):
            for kind, example in source.get(wanted, Score()).errors:
                print(kind, example)


if __name__ == "__main__":
    main(sys.argv[1:])
