"""Situations: matches grouped by a key (place:Idlib, actor:Turkey, rule:..., tag:...) and the level each reaches.

Each story contributes one signal per tag to each situation it touches, so four outlets reporting one shootdown
count once. A situation's level is the highest level any of its escalation rules gives it now: counts and
combinations hold while their signals are inside the window; ladders follow a score that halves every half-life.
An `escalation` alert fires when the level rises (and, if configured, falls), never twice for one level within the
repeat interval, and names the rules and the signals, with their items, that raised it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.alerts import Alert, AlertItem
from tocsin.config.escalation import EscalationConfig
from tocsin.escalate.deadlines import ExpiredDeadline
from tocsin.escalate.rules import (
    LEVEL_SEVERITY,
    Combination,
    Count,
    EscalationRule,
    EscalationRuleSet,
    Ladder,
    level_name,
    level_rank,
)
from tocsin.escalate.throttle import Throttle
from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.store import Database
from tocsin.store.sql import Row
from tocsin.units import format_duration

HISTORY = timedelta(days=30)
"""How long level changes are kept for `tocsin situations show`."""
EXPLAINED_SIGNALS = 10
EXPIRED_TAG = "deadline-expired"
"""The tag of the signal a tracked deadline gives its situations when it passes."""
"""Signals listed per rule in an alert: enough to see the pattern, not a dump of the window."""


@dataclass(frozen=True, slots=True)
class Signal:
    tag: str
    story_id: str
    rule: str
    at: datetime
    item: AlertItem

    def to_json(self) -> dict[str, object]:
        return {"tag": self.tag, "story_id": self.story_id, "rule": self.rule,
                "at": self.at.isoformat().replace("+00:00", "Z"), "item": self.item.to_json()}


@dataclass(frozen=True, slots=True)
class Finding:
    """One escalation rule's verdict on a situation: the level it gives and the signals behind it."""

    rule: EscalationRule
    rank: int
    reason: str
    signals: tuple[Signal, ...] | None = None
    """The signals behind it, when assessing found them anyway; otherwise looked up only for an alert."""
    score: float | None = None
    """A ladder's decayed score."""
    held: int | None = None
    """The level the situation keeps under this rule once reached (a ladder's, with the fall margin)."""

    @property
    def hold(self) -> int:
        return self.rank if self.held is None else self.held


def concerns(rule: EscalationRule, tags: set[str], match_rule: str, in_capital: set[str] | None = None) -> bool:
    """Whether new signals with these tags (from this rule engine rule; `in_capital` the tags of those that named a
    capital) can change what the escalation rule says."""
    condition = rule.condition
    if isinstance(condition, Count):
        counted = in_capital or set() if condition.capital else tags
        return bool(counted) and condition.rule == match_rule if condition.rule else condition.tag in counted
    if isinstance(condition, Combination):
        return not tags.isdisjoint(condition.tags)
    return not tags.isdisjoint(condition.weights)


def situation_keys(rules: EscalationRuleSet, places: Sequence[str], actors: Sequence[str], rule: str,
                   tags: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """Each situation a signal touches, as {situation: (group kind, whether it names a capital there)}: a place also
    puts it in its country's and its theatre's situation (a place outside the gazetteer's hierarchy is its own)."""
    regions = rules.regions
    keys: dict[str, tuple[str, bool]] = {}

    def add(kind: str, value: str, capital: bool) -> None:
        key = f"{kind}:{value}"
        keys[key] = (kind, capital or keys.get(key, (kind, False))[1])

    in_capital = any(regions[place].capital for place in places if place in regions)
    for kind in rules.group_kinds:
        if kind in ("place", "country", "theatre"):
            for place in places:
                region = regions.get(place)
                value = place if kind == "place" or region is None else getattr(region, kind)
                add(kind, value, region is not None and region.capital)
        else:
            for value in {"actor": actors, "rule": (rule,), "tag": tags}[kind]:
                add(kind, value, in_capital)
    return keys


_Touched = dict[str, tuple[str, set[str], set[str], set[str]]]
"""Per situation a report touched: its group kind, the tags it added, the rules behind them and the added tags
whose reports named a capital."""


class Situations:
    def __init__(self, db: Database, config: EscalationConfig, rules: EscalationRuleSet, throttle: Throttle) -> None:
        self.db = db
        self.config = config
        self.rules = rules
        self.throttle = throttle

    def observe(self, story_id: str, item: Item, matches: list[Match], now: datetime) -> list[Alert]:
        """Record the signals of one item's matches, then alert once for each situation whose level rose: a
        report that lifts a place from watch to high says so in one alert, with every finding behind it."""
        touched: _Touched = {}
        for match in matches:
            keys = situation_keys(self.rules, match.places, match.actors, match.rule, match.tags)
            self._record(touched, keys, match.tags, story_id, match.rule, now, AlertItem.from_item(item))
        return self._rise(touched, now)

    def deadlines_expired(self, expired: Sequence[ExpiredDeadline], now: datetime) -> list[Alert]:
        """Each tracked deadline that has passed becomes a `deadline-expired` signal of the situations its reports
        named (once: signals are unique per story), so rules can ask for an ultimatum that expired and what
        followed it."""
        touched: _Touched = {}
        for deadline in expired:
            keys = situation_keys(self.rules, deadline.places, deadline.actors, deadline.rule, deadline.tags)
            self._record(touched, keys, (EXPIRED_TAG,), deadline.story_id, deadline.rule, now, deadline.item,
                         at=deadline.at)
        return self._rise(touched, now)

    def _record(self, touched: _Touched, keys: dict[str, tuple[str, bool]],
                tags: Sequence[str], story_id: str, rule: str, now: datetime, item: AlertItem, *,
                at: datetime | None = None) -> None:
        stamp = int((at or now).timestamp())
        for situation, (kind, capital) in keys.items():
            _, added, rule_ids, in_capital = touched.setdefault(situation, (kind, set(), set(), set()))
            rule_ids.add(rule)
            for tag in tags:
                inserted = self.db.connection.execute(
                    "INSERT INTO situation_signals "
                    "(situation, tag, story_id, rule, at, item_title, item_link, item_feed, capital) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (situation, tag, story_id, rule, stamp, item.title, item.link, item.feed, int(capital)),
                ).rowcount
                if inserted:
                    added.add(tag)
                    self._score(situation, kind, tag, now)
                    if capital:
                        in_capital.add(tag)
                elif capital and self.db.connection.execute(
                    # A later report of the story names the capital the first did not: the story is about it.
                    "UPDATE situation_signals SET capital = 1 "
                    "WHERE situation = ? AND tag = ? AND story_id = ? AND capital = 0",
                    (situation, tag, story_id),
                ).rowcount:
                    in_capital.add(tag)

    def _rise(self, touched: _Touched, now: datetime) -> list[Alert]:
        alerts = []
        for situation, (kind, added, rule_ids, in_capital) in touched.items():
            # Only the rules these signals concern can have risen; the others are where they were or lower.
            concerned = [
                rule for rule in self.rules.grouped_by(kind)
                if any(concerns(rule, added, rule_id, in_capital) for rule_id in rule_ids)
            ]
            if concerned:
                alert = self._reassess(situation, concerned, now, rising_only=True)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def review(self, now: datetime) -> list[Alert]:
        """Let time act: levels fall as signals leave their windows and scores decay."""
        rows = self.db.connection.execute(
            "SELECT situation FROM situations WHERE level > 0 ORDER BY situation"
        ).fetchall()
        alerts = []
        for (situation,) in rows:
            rules = self.rules.grouped_by(situation.partition(":")[0])
            alert = self._reassess(situation, rules, now, rising_only=False)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def prune(self, now: datetime) -> None:
        """Forget signals no rule can count any more (ladders keep their own decayed score)."""
        horizon = int((now - self.rules.longest_window).timestamp())
        self.db.connection.execute("DELETE FROM situation_signals WHERE at < ?", (horizon,))
        self.db.connection.execute(
            "DELETE FROM situation_changes WHERE at < ?", (int((now - HISTORY).timestamp()),)
        )

    def assess(self, situation: str, now: datetime) -> list[Finding]:
        """What each of the situation's rules says of it now."""
        return [self._assess(rule, situation, now) for rule in self.rules.grouped_by(situation.partition(":")[0])]

    def level(self, situation: str) -> str | None:
        row = self.db.connection.execute(
            "SELECT level FROM situations WHERE situation = ?", (situation,)
        ).fetchone()
        return level_name(row[0]) if row else None

    def _score(self, situation: str, kind: str, tag: str, now: datetime) -> None:
        stamp = int(now.timestamp())
        for rule in self.rules.grouped_by(kind):
            if not isinstance(rule.condition, Ladder) or tag not in rule.condition.weights:
                continue
            current = self._decayed_score(rule, situation, now)
            self.db.connection.execute(
                "INSERT INTO situation_scores (rule, situation, score, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (rule, situation) DO UPDATE SET score = excluded.score, at = excluded.at",
                (rule.id, situation, current + rule.condition.weights[tag], stamp),
            )

    def _decayed_score(self, rule: EscalationRule, situation: str, now: datetime) -> float:
        assert isinstance(rule.condition, Ladder)
        row = self.db.connection.execute(
            "SELECT score, at FROM situation_scores WHERE rule = ? AND situation = ?", (rule.id, situation)
        ).fetchone()
        if row is None:
            return 0.0
        elapsed = max(0.0, now.timestamp() - row["at"])
        return float(row["score"]) * math.pow(0.5, elapsed / rule.condition.half_life.total_seconds())

    def _reassess(self, situation: str, rules: Sequence[EscalationRule], now: datetime, *,
                  rising_only: bool) -> Alert | None:
        """Move the situation's steady level: up at once to what its rules give it now; down only to what they
        give it with the fall margin, once that has lasted `fall_after`. A level is announced when reached,
        unless it was announced before and the level has not since fallen two levels below that."""
        findings = [self._assess(rule, situation, now) for rule in rules]
        rank = max((finding.rank for finding in findings), default=0)
        hold = max((finding.hold for finding in findings), default=0)
        row = self.db.connection.execute(
            "SELECT level, announced, falling_since FROM situations WHERE situation = ?", (situation,)
        ).fetchone()
        previous, announced, falling_since = (row[0], row[1], row[2]) if row else (0, 0, None)
        stamp = int(now.timestamp())
        if rank <= previous:
            if hold >= previous:
                if falling_since is not None:
                    self._set(situation, falling_since=None)
                return None
            if rising_only:
                return None
            if falling_since is None:
                self._set(situation, falling_since=stamp)
                return None
            if now - datetime.fromtimestamp(falling_since, UTC) < self.config.fall_after:
                return None
            rank = hold
        if rank < previous and announced - rank >= 2:
            announced = rank
        alert: Alert | None = None
        if rank > previous:
            if rank > announced and rank >= level_rank(self.config.min_alert_level):
                alert = self._alert(situation, previous, rank, [f for f in findings if f.rank], now)
                announced = rank
        elif self.config.alert_on_fall and previous >= level_rank(self.config.min_alert_level):
            alert = self._alert(situation, previous, rank, [f for f in findings if f.hold], now)
        if alert is not None and not self.throttle.allow(
            f"situation:{situation}", alert.extra["level"], now, self.config.repeat_interval
        ):
            alert = None
        self.db.connection.execute(
            "INSERT INTO situations (situation, level, changed_at, announced, falling_since, opened_at) "
            "VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (situation) DO UPDATE SET level = excluded.level, "
            "changed_at = excluded.changed_at, announced = excluded.announced, falling_since = NULL, "
            "opened_at = CASE WHEN excluded.level = 0 THEN NULL ELSE coalesce(situations.opened_at, ?) END",
            (situation, rank, stamp, announced, stamp, stamp),
        )
        top = max(findings, key=lambda finding: (finding.rank, finding.hold), default=None)
        self.db.connection.execute(
            "INSERT INTO situation_changes (situation, at, level, previous, alert_id, reason) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (situation, at, level) DO UPDATE SET previous = excluded.previous, "
            "alert_id = excluded.alert_id, reason = excluded.reason",
            (situation, stamp, rank, previous, alert.id if alert else None,
             f"{top.rule.id}: {top.reason}" if top else ""),
        )
        return alert

    def _set(self, situation: str, *, falling_since: int | None) -> None:
        self.db.connection.execute(
            "UPDATE situations SET falling_since = ? WHERE situation = ?", (falling_since, situation)
        )

    def _assess(self, rule: EscalationRule, situation: str, now: datetime) -> Finding:
        condition = rule.condition
        if isinstance(condition, Ladder):
            score = self._decayed_score(rule, situation, now)
            reason = f"score {score:.1f} (half-life {format_duration(condition.half_life)})"
            # The margin lowers every threshold for holding a level, not for reaching it.
            held = condition.level(score / (1 - self.config.fall_margin))
            return Finding(rule, condition.level(score), reason, score=score, held=held)
        since = now - rule.window
        if isinstance(condition, Count):
            where, params = _filter(situation, since, (condition.tag,) if condition.tag else None, condition.rule,
                                    capital=condition.capital)
            stories = self.db.connection.execute(
                f"SELECT count(DISTINCT story_id) FROM situation_signals WHERE {where}", params
            ).fetchone()[0]
            what = f"{condition.tag or condition.rule}{' (in a capital)' if condition.capital else ''}"
            return Finding(rule, rule.level if stories >= condition.at_least else 0,
                           f"{stories} {what} stories within {_window(rule)}")
        return self._combination(rule, condition, situation, since)

    def _combination(self, rule: EscalationRule, condition: Combination, situation: str,
                     since: datetime) -> Finding:
        chosen: list[Signal] = []
        after = since
        for tag in condition.tags:
            found = self._first_signals(situation, after, tag, condition.at_least)
            if len(found) < condition.at_least:
                return Finding(rule, 0, f"{len(found) or 'no'} {tag} within {_window(rule)}", ())
            chosen.extend(found)
            if condition.ordered:
                after = found[-1].at
        joiner = " then " if condition.ordered else " and "
        each = f" ({condition.at_least} stories each)" if condition.at_least > 1 else ""
        return Finding(rule, rule.level, f"{joiner.join(condition.tags)}{each} within {_window(rule)}", tuple(chosen))

    def explain(self, finding: Finding, situation: str, now: datetime) -> tuple[Signal, ...]:
        if finding.signals is not None:
            return finding.signals
        condition = finding.rule.condition
        if isinstance(condition, Ladder):
            return self._signals(situation, now - 4 * condition.half_life, tags=tuple(condition.weights))
        assert isinstance(condition, Count)
        return self._signals(situation, now - finding.rule.window, tags=(condition.tag,) if condition.tag else None,
                             rule=condition.rule, capital=condition.capital)

    def _signals(self, situation: str, since: datetime, *, tags: tuple[str, ...] | None = None,
                 rule: str | None = None, capital: bool = False) -> tuple[Signal, ...]:
        """The newest signals that explain a finding, oldest first."""
        where, params = _filter(situation, since, tags, rule, capital=capital)
        rows = self.db.connection.execute(
            f"SELECT * FROM situation_signals WHERE {where} ORDER BY at DESC, story_id, tag LIMIT ?",
            (*params, EXPLAINED_SIGNALS),
        ).fetchall()
        return tuple(signal_from_row(row) for row in reversed(rows))

    def _first_signals(self, situation: str, since: datetime, tag: str, count: int) -> list[Signal]:
        """The first `count` signals of the tag since then: one per story (a story signals a tag once)."""
        where, params = _filter(situation, since, (tag,), None)
        rows = self.db.connection.execute(
            f"SELECT * FROM situation_signals WHERE {where} ORDER BY at, story_id LIMIT ?", (*params, count)
        ).fetchall()
        return [signal_from_row(row) for row in rows]

    def _alert(self, situation: str, previous: int, rank: int, findings: list[Finding], now: datetime) -> Alert:
        level = level_name(rank) or "none"
        before = level_name(previous) or "none"
        kind, _, subject = situation.partition(":")
        verb = "rose" if rank > previous else "fell"
        top = max(findings, key=lambda finding: finding.rank, default=None)
        lines = [f"{subject}: level {verb} from {before} to {level}."]
        items: dict[str, AlertItem] = {}
        tags: dict[str, None] = {}
        explained = [(finding, self.explain(finding, situation, now)) for finding in findings]
        for finding, signals in explained:
            lines.append(f"{finding.rule.title} ({finding.rule.id}): {finding.reason}.")
            for signal in signals:
                lines.append(f"  - {signal.tag}: {signal.item.title} ({signal.item.feed})")
                items.setdefault(signal.item.link, signal.item)
                tags[signal.tag] = None
        severity = LEVEL_SEVERITY[level] if rank else LEVEL_SEVERITY["watch"]
        return Alert(
            id=Alert.make_id("escalation", situation, level, str(int(now.timestamp()))),
            kind="escalation",
            severity=severity,
            title=_title(subject, level, rising=rank > previous),
            summary="\n".join(lines),
            created=now,
            rule=top.rule.id if top else None,
            tags=tuple(tags),
            places=(subject,) if kind in ("place", "country") else (),
            actors=(subject,) if kind == "actor" else (),
            items=tuple(items.values())[:EXPLAINED_SIGNALS],
            situation=situation,
            extra={
                "level": level,
                "previous_level": before,
                "findings": [
                    {"rule": f.rule.id, "level": level_name(f.rank), "reason": f.reason,
                     "signals": [s.to_json() for s in signals]}
                    for f, signals in explained
                ],
            },
        )


def signal_from_row(row: Row) -> Signal:
    return Signal(row["tag"], row["story_id"], row["rule"], datetime.fromtimestamp(row["at"], UTC),
                  AlertItem(row["item_title"], row["item_link"], row["item_feed"], None))


def _filter(
    situation: str, since: datetime, tags: tuple[str, ...] | None, rule: str | None, *, capital: bool = False
) -> tuple[str, tuple[object, ...]]:
    where = "situation = ? AND at >= ?" + (" AND capital = 1" if capital else "")
    params: list[object] = [situation, int(since.timestamp())]
    if tags is not None:
        where += f" AND tag IN ({', '.join('?' * len(tags))})"
        params.extend(tags)
    if rule is not None:
        where += " AND rule = ?"
        params.append(rule)
    return where, tuple(params)


def _title(subject: str, level: str, *, rising: bool) -> str:
    if rising:
        return f"{subject}: escalation level {level}"
    return f"{subject}: de-escalated to {level}" if level != "none" else f"{subject}: escalation over"


def _window(rule: EscalationRule) -> str:
    return format_duration(rule.window)
