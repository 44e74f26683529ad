"""Replay: feed snapshots through the real Pipeline with a simulated clock and a throwaway state database.

The clock follows the snapshots: each snapshot is ingested at its newest item's publication time (when its feed
would have been fetched), in the order of those times whatever order the files were given in, and every deadline
reminder falling due before that is given at its own simulated time first. Alerts go to the temporary database's
outbox, which nobody delivers; they are yielded to the caller.
"""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from tocsin.alerts import Alert
from tocsin.clock import SimulatedClock
from tocsin.config import Settings
from tocsin.config.feeds import FeedConfig
from tocsin.errors import ConfigError, ParseError
from tocsin.escalate.silences import Matcher, Silences
from tocsin.items import Item
from tocsin.parse import FeedSource, parse_feed
from tocsin.pipeline.core import Pipeline
from tocsin.rulebook import RuleBook
from tocsin.store import Database, open_database
from tocsin.units import parse_duration

_UNDATED = datetime(9000, 1, 1, tzinfo=UTC)
"""Handed to the parser as the fetch time, so items without a date stand out and take the clock's time."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    feed: FeedConfig
    items: tuple[Item, ...]
    at: datetime | None
    """When the snapshot was taken: its newest dated item (None when no item has a date)."""


@dataclass(frozen=True, slots=True)
class SilenceSpec:
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    duration: timedelta
    comment: str


def snapshot_files(paths: Sequence[Path]) -> list[Path]:
    """The given files, and the files inside given directories in file-name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(entry for entry in path.iterdir() if entry.is_file()))
        else:
            files.append(path)
    return files


def read_snapshot(path: Path) -> Snapshot:
    """Parse one snapshot file; raise ParseError naming the file."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"{path}: cannot read the snapshot ({exc.strerror})") from exc
    url = f"https://replay.invalid/{quote(path.name)}"
    parsed = parse_feed(body, FeedSource(name=path.stem, url=url), _UNDATED)
    name = parsed.title or path.stem
    items = tuple(
        replace(item, feed=name, published=None if item.published == _UNDATED else item.published)
        for item in parsed.items
    )
    dated = [item.published for item in items if item.published is not None]
    return Snapshot(path, FeedConfig(name=name, url=url), items, max(dated) if dated else None)


def time_ordered(snapshots: Sequence[Snapshot]) -> list[Snapshot]:
    """The snapshots in the order of their own times (`Snapshot.at`); equal times keep the given order, and a
    snapshot without a dated item stays right after the one given before it (it is ingested at the clock's time).

    The simulated clock never goes backwards, so a snapshot replayed after a later one would be ingested at the
    later time: its items re-stamped, its reminders and story windows shifted."""
    keyed: list[tuple[datetime, int, Snapshot]] = []
    latest = datetime.min.replace(tzinfo=UTC)
    for position, snapshot in enumerate(snapshots):
        if snapshot.at is not None:
            latest = snapshot.at
        keyed.append((snapshot.at or latest, position, snapshot))
    return [snapshot for _at, _position, snapshot in sorted(keyed, key=lambda entry: entry[:2])]


def read_silences(path: Path) -> list[SilenceSpec]:
    """`[[silence]]` tables: match = ["rule=...", ...], start = <TOML datetime>, for = "6h", comment = "..."."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the silences ({exc})"]) from exc
    specs, problems = [], []
    for index, table in enumerate(data.get("silence", [])):
        where = f"{path}: silence[{index}]"
        try:
            start = table["start"]
            if not isinstance(start, datetime) or start.tzinfo is None:
                raise ValueError("start must be a TOML date-time with a zone, e.g. 2020-02-25T00:00:00Z")
            specs.append(SilenceSpec(tuple(Matcher.parse(text) for text in table["match"]), start.astimezone(UTC),
                                     parse_duration(table["for"]), str(table.get("comment", ""))))
        except KeyError as exc:
            problems.append(f"{where}: required key {exc} is missing (match, start, for)")
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise ConfigError(problems)
    return specs


def advance(pipeline: Pipeline, clock: SimulatedClock, until: datetime) -> Iterator[Alert]:
    """Move the clock to `until`, stopping at every reminder due on the way."""
    while (due := pipeline.escalation.next_due()) is not None and due <= until:
        clock.advance_to(due)
        yield from pipeline.tick()
    clock.advance_to(until)


def replay(
    snapshots: Sequence[Snapshot], settings: Settings, rules: RuleBook, silences: Sequence[SilenceSpec] = (),
    until: datetime | None = None, observe: Callable[[Database, datetime], None] | None = None,
) -> Iterator[Alert]:
    """The alerts the live daemon would have decided for these snapshots, in order. `observe` is called with the
    state database and the simulated time after each snapshot (the report samples the situations there)."""
    snapshots = time_ordered(snapshots)
    times = [snapshot.at for snapshot in snapshots if snapshot.at is not None]
    start = min([*times, *(spec.starts_at for spec in silences)], default=datetime.now(UTC))
    clock = SimulatedClock(start)
    with tempfile.TemporaryDirectory(prefix="tocsin-replay-") as directory:
        db = open_database(Path(directory) / "replay.sqlite3", "normal")
        try:
            pipeline = Pipeline(db, settings, rules, clock)
            for spec in silences:
                Silences(db).add(spec.matchers, spec.starts_at, spec.duration, spec.comment, start)
            for snapshot in snapshots:
                yield from advance(pipeline, clock, snapshot.at or clock.now())
                yield from pipeline.ingest(snapshot.feed, snapshot.items).alerts
                yield from pipeline.tick()
                if observe is not None:
                    observe(db, clock.now())
            yield from advance(pipeline, clock, max(until or clock.now(), clock.now()))
        finally:
            db.close()
