"""ACLED events as labelled items for `tocsin eval --acled`: each event's `notes` is an item's summary, and its
event coding says which tags it should raise.

ACLED (acleddata.com) codes political violence by event type; its export is a CSV with one event a line. The
mapping from its coding to the pack's tags:
- strike      <- sub_event_type "Air/drone strike" or "Shelling/artillery/missile attack"
- casualties  <- fatalities > 0. The tag also covers the wounded and ACLED counts only deaths, so an event
                 without deaths whose notes report people injured or wounded is left out of the casualties score
                 (neither right nor wrong): the fatality count cannot say what it is.
- territorial <- sub_event_type "Non-state actor overtakes territory", "Government regains territory" or
                 "Non-violent transfer of territory".
- buildup, deadline, shootdown, displacement: no event type means exactly these, so they come only from a labels
  file given beside the CSV (`--labels`, the usual JSON-lines labels keyed by `event_id_cnty`), whose tags are
  added to the coded ones. benchmarks/labels/acled-labels.jsonl is such a file for ACLED 2022-H1: every event
  whose notes ACLED opens with "Movement of forces:", "Interception:" or "Displacement:", or that hold a word of
  flight, of shooting down, of a deadline, or of capture, was read and labelled.
ACLED notes are terse analyst prose, not headlines, and a note may mention a strike or a death that is not the
coded event ("...in retaliation for shelling the day before"), which this scoring counts against the rules.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

from tocsin.items import Item
from tocsin.matching.evaluate import LabelError, LabelledItem, read_labels

STRIKE_TYPES = frozenset({"Air/drone strike", "Shelling/artillery/missile attack"})
TERRITORIAL_TYPES = frozenset({"Non-state actor overtakes territory", "Government regains territory",
                               "Non-violent transfer of territory"})
COLUMNS = ("event_id_cnty", "event_date", "sub_event_type", "notes", "fatalities")
_WOUNDED = re.compile(r"\b(?:injur|wound)", re.IGNORECASE)
# ACLED appends the size of the crowd or force to its notes, "[size=no report]": coding, not text.
_SIZE_NOTE = re.compile(r"\s*\[size=[^\]]*\]")


def read_acled(csv_path: Path, labels_path: Path | None = None) -> list[LabelledItem]:
    """Every event of an ACLED export as a labelled item, in the file's order."""
    extra = read_labels(labels_path) if labels_path else {}
    try:
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in COLUMNS if column not in (reader.fieldnames or ())]
            if missing:
                raise LabelError(f"{csv_path}: not an ACLED export: no column {', '.join(missing)}")
            return [_event(row, extra, f"{csv_path}:{reader.line_num}") for row in reader]
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{csv_path}: cannot read: {exc}") from None


def _event(row: dict[str, str], extra: dict[str, frozenset[str]], where: str) -> LabelledItem:
    try:
        published = datetime.fromisoformat(row["event_date"]).replace(tzinfo=UTC)
        fatalities = int(row["fatalities"] or 0)
    except ValueError as exc:
        raise LabelError(f"{where}: {exc}") from None
    notes = _SIZE_NOTE.sub("", row["notes"])
    tags = set(extra.get(row["event_id_cnty"], ()))
    if row["sub_event_type"] in STRIKE_TYPES:
        tags.add("strike")
    if fatalities > 0:
        tags.add("casualties")
    if row["sub_event_type"] in TERRITORIAL_TYPES:
        tags.add("territorial")
    unscored = frozenset({"casualties"}) if fatalities == 0 and _WOUNDED.search(notes) else frozenset()
    item = Item(id=row["event_id_cnty"], feed="acled", title="", link="", published=published, summary=notes)
    return LabelledItem(item, frozenset(tags), unscored - tags)
