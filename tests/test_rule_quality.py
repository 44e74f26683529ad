"""Floors on the default pack's precision and recall on real text, measured as `tocsin eval` measures it
(tocsin/matching/acled.py has the ACLED mapping). The floors sit a little below what was measured when the pack
was tuned, so a rule change that costs quality fails here. Skips when ../shared is absent."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import shared_path
from tests.matching_support import DEFAULT_RULES
from tocsin.cli.eval import read_as_published, read_feeds
from tocsin.matching.acled import read_acled
from tocsin.matching.evaluate import Evaluation, evaluate, split_part
from tocsin.matching.rules import load_rules

LABELS = Path(__file__).resolve().parent.parent / "benchmarks" / "labels"

# Measured 2026-11-25 (after the second tuning): ACLED strike 0.894/0.914 (918 events), casualties 0.936/0.902
# (1,325), territorial 0.884/0.809 (47), displacement 0.975/0.975 (79), shootdown 1.000/1.000 (32), buildup
# 0.561/0.742 (31: ACLED's "Movement of forces" notes, where ambushed convoys and reinforcements look like a
# buildup); the last four partly from hand labels, benchmarks/labels/acled-labels.jsonl.
# Since the pack was tuned on news headlines (2026-12-02), casualties need a setting of war or terror: ACLED
# codes police and gang killings as fatalities and the labelled news set does not (../shared/labels/GUIDE.md),
# so ACLED casualties recall fell to 0.468; "refugees" and "fled" in a war setting fire on ACLED notes about
# attackers who fled (displacement precision 0.595); front moves on ACLED "advanced" (territorial 0.717); bombings
# and explosions in a war or terror setting count as strike here (ACLED strike precision 0.803, feeds 0.696).
# Sieges, encirclements and forces moving into a city (2026-12-02): ACLED territorial 0.678/0.851, its notes'
# "siege" of a headquarters and deserters who "laid down their arms" read as news of a siege and a surrender.
ACLED_FLOORS = {
    "strike": (0.78, 0.89), "casualties": (0.93, 0.45), "territorial": (0.66, 0.8), "displacement": (0.57, 0.94),
    "shootdown": (0.95, 0.95), "buildup": (0.45, 0.7),
}
# Measured on the hand-labelled feed items: buildup 0.933/1.000 (14), casualties 0.900/0.931 (29), strike
# 0.882/0.833 (18). The other tags have too few positives among the feed items (1 to 4) for a floor to mean anything.
# After the 2026-12-02 tuning: buildup 0.923/0.857, casualties 0.765/0.448 (crime and police deaths left out).
# After the second news tuning (2026-12-02, general wording, hedges, title openings): buildup 0.933/1.000,
# casualties 0.810/0.586, strike 0.696/0.889. ACLED territorial precision 0.696: "advanced" is a front move in a
# headline, while ACLED notes use it for clashes that moved no front.
FEED_FLOORS = {"buildup": (0.9, 0.95), "casualties": (0.78, 0.55), "strike": (0.67, 0.85)}
# The check part of ../shared/labels (tocsin.matching.evaluate.split_part), never tuned on: macro-F1 0.715 and
# 242 of 255 untagged items quiet (0.949) on 2026-12-02 after the third tuning (sieges, forces moving in, launches
# that hit nothing, civil deadlines); the floors sit at what was reached.
CHECK_MACRO_F1 = 0.71
CHECK_QUIET_SHARE = 0.94


def check(result: Evaluation, floors: dict[str, tuple[float, float]]) -> None:
    scores = result.scores
    low = {
        tag: (scores[tag].precision, scores[tag].recall)
        for tag, (precision, recall) in floors.items()
        if not ((scores[tag].precision or 0) >= precision and (scores[tag].recall or 0) >= recall)
    }
    assert not low, f"below the floors {floors}: {low}"


def test_acled_precision_and_recall() -> None:
    events = read_acled(shared_path("corpus", "acled", "acled-2022-h1.csv"), LABELS / "acled-labels.jsonl")
    check(evaluate(load_rules([DEFAULT_RULES]), events), ACLED_FLOORS)


def test_hand_labelled_feed_items() -> None:
    items, _ = read_feeds(shared_path("corpus", "feeds"), LABELS / "feeds-labels.jsonl")
    check(evaluate(load_rules([DEFAULT_RULES]), items), FEED_FLOORS)


def test_check_part_of_the_labelled_news_items() -> None:
    labels = shared_path("labels")
    labelled, _ = read_as_published(labels / "items.jsonl", labels / "labels.jsonl")
    result = evaluate(load_rules([DEFAULT_RULES]), [case for case in labelled if split_part(case.item.id) == "check"])
    assert result.items > 300
    assert (result.macro_f1 or 0) >= CHECK_MACRO_F1, result.to_json()
    assert (result.quiet_share or 0) >= CHECK_QUIET_SHARE, result.to_json()


# Our own labelled texts for the two rare tags (tests/data/own-labels: 28 deadline and 26 shootdown items, and 29
# traps, written for the project and labelled by ../shared/labels/GUIDE.md). The deadline and shootdown rules were
# tuned on them, so these are tuning figures: deadline 0.98, shootdown 0.98, 28 of 29 traps quiet (2026-12-02).
OWN_LABELS = Path(__file__).resolve().parent / "data" / "own-labels"
OWN_F1 = {"deadline": 0.95, "shootdown": 0.95}
OWN_QUIET_SHARE = 0.95


def test_own_labelled_deadlines_and_shootdowns() -> None:
    labelled, _ = read_as_published(OWN_LABELS / "items.jsonl", OWN_LABELS / "labels.jsonl")
    result = evaluate(load_rules([DEFAULT_RULES]), labelled, tags=tuple(OWN_F1))
    low = {tag: result.scores[tag].f1 for tag, floor in OWN_F1.items() if (result.scores[tag].f1 or 0) < floor}
    assert not low, result.to_json()
    assert (result.quiet_share or 0) >= OWN_QUIET_SHARE, result.to_json()
