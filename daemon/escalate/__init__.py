"""Escalation over time: rule matches become story, situation and deadline alerts, throttled and silenced.

Per item: find or start its story (stories.py); each rule fires once per story (a `match` alert, re-alerting per
rule and place at most once per `realert_interval`); its deadlines are tracked (deadlines.py); its signals feed
the situations (situations.py), which alert when their level rises. Per tick: deadline reminders fall due and
situation levels decay. Every alert passes the silences last: a silenced alert is recorded, not returned.
All state lives in the state database and is written in the caller's transaction, so a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.alerts import Alert, AlertItem
from tocsin.clock import Clock
from tocsin.config.escalation import EscalationConfig
from tocsin.escalate.deadlines import Deadlines
from tocsin.escalate.fingerprint import Fingerprint
from tocsin.escalate.rules import EscalationRuleSet
from tocsin.escalate.silences import Silences
from tocsin.escalate.situations import Situations
from tocsin.escalate.stories import Placement, Stories
from tocsin.escalate.throttle import Throttle
from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.matching.text import FieldText
from tocsin.store import Database

KEEP_FINISHED = timedelta(days=30)
ESCALATION_KEY = "tocsin:escalation"
"""The key under which instances sharing a store serialize story placement and situation updates."""
"""How long throttle marks, finished deadlines, held-back alerts and ended silences are kept."""


class Escalation:
    def __init__(
        self, db: Database, config: EscalationConfig, clock: Clock, rules: EscalationRuleSet | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.throttle = Throttle(db)
        self.silences = Silences(db)
        self.stories = Stories(db, config)
        self.deadlines = Deadlines(db, config)
        self.situations = Situations(db, config, rules or EscalationRuleSet(), self.throttle)
        self.config = config

    def configure(self, config: EscalationConfig, rules: EscalationRuleSet | None = None) -> None:
        """Reload: new settings (and escalation rules, when given) apply from the next item on; state is kept."""
        self.config = config
        self.stories.config = config
        self.deadlines.config = config
        self.situations.config = config
        if rules is not None:
            self.situations.rules = rules

    def on_item(self, item: Item, matches: list[Match]) -> list[Alert]:
        # Instances sharing a store place reports and move situations one at a time: two reports of one event
        # ingested at once make one story. One key rather than one per story key: a feed's items take their keys
        # in no global order, and per-key locks could deadlock two ingests.
        self.db.serialize(ESCALATION_KEY)
        now = self.clock.now()
        placement = self.stories.place(item, Fingerprint.of(item, matches), frozenset(m.rule for m in matches), now)
        decided: list[Alert] = []
        fired = set(placement.fired)
        superseded = _superseded(matches)
        for match in matches:
            if match.rule not in fired:
                fired.add(match.rule)
                quiet = match.rule in superseded or not match.alert
                alert = None if quiet else self._match_alert(item, match, placement, now)
                if alert is not None:
                    decided.append(alert)
            self.deadlines.track(item, match, placement.story_id, now)
        decided.extend(self.situations.observe(placement.story_id, item, matches, now))
        if not placement.created and placement.new_source and placement.sources in self.config.story_updates:
            decided.append(self._story_update(item, matches, placement, now))
        return self._release(decided, now)

    def due(self) -> list[Alert]:
        self.db.serialize(ESCALATION_KEY)
        now = self.clock.now()
        decided = self.deadlines.due(now)
        # Expired deadlines are signalled again on every tick while a rule can still count them (a signal is
        # unique per story, so the repeats are no-ops); pruning forgets them at the same horizon.
        expired = self.deadlines.expired(now - self.situations.rules.longest_window, now)
        decided += self.situations.deadlines_expired(expired, now) + self.situations.review(now)
        self.stories.prune(now - self.config.story_window)
        self.situations.prune(now)
        self.throttle.prune(now - KEEP_FINISHED)
        self.deadlines.prune(now - KEEP_FINISHED)
        self.silences.prune(now - KEEP_FINISHED)
        return self._release(decided, now)

    def next_due(self) -> datetime | None:
        """The next moment `due()` has a reminder to give (simulated-clock drivers advance to it)."""
        return self.deadlines.next_due()

    def _release(self, decided: list[Alert], now: datetime) -> list[Alert]:
        if not decided:
            return []
        active = self.silences.active(now)
        released = []
        for alert in decided:
            silence = next((silence for silence in active if silence.matches(alert)), None)
            if silence is None:
                released.append(alert)
            else:
                self.silences.record(alert, "silenced", silence.id, now)
        return released

    def _match_alert(self, item: Item, match: Match, placement: Placement, now: datetime) -> Alert | None:
        """The rule's first alert for this story, or None (recorded as throttled) when the rule alerted for the
        same place within its re-alert interval."""
        alert = Alert(
            id=Alert.make_id("match", match.rule, placement.story_id),
            kind="match",
            severity=match.severity,
            title=f"{match.title}: {item.title}",
            summary=match_summary(item, match),
            created=now,
            rule=match.rule,
            tags=match.tags,
            places=match.places,
            actors=match.actors,
            items=(AlertItem.from_item(item),),
            evidence=match.evidence,
            quantities=match.quantities,
            deadline=match.deadline,
            story_id=placement.story_id,
        )
        key = (match.places or match.actors or ("*",))[0]
        interval = self.config.realert_per_rule.get(match.rule, self.config.realert_interval)
        if not self.throttle.allow(f"rule:{match.rule}", key, now, interval):
            self.silences.record(alert, "throttled", None, now)
            return None
        return alert

    def _story_update(self, item: Item, matches: list[Match], placement: Placement, now: datetime) -> Alert:
        return Alert(
            id=Alert.make_id("story_update", placement.story_id, str(placement.sources)),
            kind="story_update",
            severity=max(match.severity for match in matches),
            title=f"Reported by {placement.sources} sources: {placement.title}",
            summary=f"{item.feed} is independent source number {placement.sources} of this story: {item.title}",
            created=now,
            tags=tuple(dict.fromkeys(tag for match in matches for tag in match.tags)),
            places=tuple(dict.fromkeys(place for match in matches for place in match.places)),
            actors=tuple(dict.fromkeys(actor for match in matches for actor in match.actors)),
            items=(AlertItem.from_item(item),),
            story_id=placement.story_id,
            extra={"sources": placement.sources},
        )


def _superseded(matches: list[Match]) -> frozenset[str]:
    """Rules whose alert would only repeat a more severe match of the same item with the same tags (`casualties`
    beside `casualties-mass`): one report, one alert per kind of event. They still count as fired for the story
    and still feed the situations. A signal rule's match (`alert = false`) sends nothing, so it supersedes nothing."""
    return frozenset(
        match.rule
        for match in matches
        if match.tags
        and any(other.alert and other.severity > match.severity and set(match.tags) <= set(other.tags)
                for other in matches)
    )


EXCERPT_CHARS = 600


def match_summary(item: Item, match: Match) -> str:
    """What a reader needs to judge the match: the sentences of the item that hold its evidence, then the
    quantities and the deadline it read; the item's opening when the evidence is all in the title."""
    summary = FieldText("summary", item.summary)
    sentences: list[str] = []
    for evidence in match.evidence:
        if evidence.field != "summary":
            continue
        sentence = _sentence(summary, summary.sentence_of(evidence.start))
        if sentence not in sentences:
            sentences.append(sentence)
    excerpt = " … ".join(sentences) if sentences else item.summary
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1].rstrip() + "…"
    facts = [f"{q.unit}: {q.text}" for q in match.quantities]
    if match.deadline is not None:
        facts.append(f"deadline: {match.deadline.at:%Y-%m-%d %H:%M} UTC ({match.deadline.text})")
    return "\n".join(part for part in (excerpt, "; ".join(facts)) if part)


def _sentence(field: FieldText, index: int) -> str:
    """Sentence `index` of the field, as the rule language splits sentences (`within = "sentence"`)."""
    ends = field.sentence_ends
    start = ends[index - 1] if index > 0 else 0
    end = ends[index] if index < len(ends) else len(field.text)
    return field.text[start:end].strip()
