"""`tocsin replay --report`: one self-contained HTML page with each situation's score and level over the replay.

`ReplayRecord` samples the situations after every snapshot of a replay (their level and highest decayed ladder
score) and keeps the alerts; `write_report` draws one plot per situation that reached the alerting level, with
its alerts marked on it and listed below. The plots are drawn by matplotlib (the optional `report` extra) as SVG
placed inline, so the page needs no server, no script and nothing beside it. Feed text is HTML-escaped, and the
page's Content-Security-Policy forbids scripts and any outside resource, should escaping ever miss something.
"""

from __future__ import annotations

import html
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tocsin.alerts import Alert
from tocsin.errors import ConfigError
from tocsin.escalate.rules import LEVELS, EscalationRuleSet, Ladder, level_rank
from tocsin.store import Database

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_PLOTS = 24
"""Situations drawn, highest level first: a report of hundreds of plots is read by nobody."""
MARKERS = {"escalation": ("v", "#b2182b"), "deadline_reminder": ("D", "#5e3c99"),
           "match": ("|", "#4d4d4d"), "story_update": ("|", "#878787")}


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    level: int
    score: float


@dataclass
class ReplayRecord:
    """What a replay did over time: per situation its samples, and every alert."""

    ladders: dict[str, Ladder]
    """Ladder rules by id, to decay their stored scores to each sample's time."""
    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))
    alerts: list[Alert] = field(default_factory=list)

    @classmethod
    def for_rules(cls, rules: EscalationRuleSet) -> ReplayRecord:
        return cls({rule.id: rule.condition for rule in rules.rules if isinstance(rule.condition, Ladder)})

    def sample(self, db: Database, now: datetime) -> None:
        stamp = now.timestamp()
        scores: dict[str, float] = defaultdict(float)
        for row in db.connection.execute("SELECT rule, situation, score, at FROM situation_scores"):
            ladder = self.ladders.get(row["rule"])
            if ladder is not None:
                decayed = row["score"] * math.pow(0.5, max(0.0, stamp - row["at"]) / ladder.half_life.total_seconds())
                scores[row["situation"]] = max(scores[row["situation"]], decayed)
        levels = {row[0]: row[1] for row in db.connection.execute("SELECT situation, level FROM situations")}
        for situation in levels.keys() | scores.keys():
            series = self.samples[situation]
            level, score = levels.get(situation, 0), scores.get(situation, 0.0)
            if series or level or score >= 0.05:
                series.append(Sample(now, level, score))


def _belongs(alert: Alert, situation: str) -> bool:
    if alert.situation is not None:
        return alert.situation == situation
    kind, _, name = situation.partition(":")
    return name in {"place": alert.places, "actor": alert.actors}.get(kind, ())


def chosen_situations(record: ReplayRecord, min_level: str) -> list[str]:
    """The situations worth a plot: those that reached `min_level`, highest peak first, then the earliest."""
    wanted = level_rank(min_level)
    peaks = {key: max(sample.level for sample in series) for key, series in record.samples.items() if series}
    first = {key: next(s.at for s in record.samples[key] if s.level >= wanted) for key, p in peaks.items()
             if p >= wanted}
    return sorted(first, key=lambda key: (-peaks[key], first[key], key))[:MAX_PLOTS]


def write_report(record: ReplayRecord, path: Path, title: str, min_level: str) -> None:
    """Write the page to `path`; ConfigError when matplotlib (the `report` extra) is not installed."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(["--report draws its plots with matplotlib: pip install 'tocsin[report]'"]) from None
    sections = []
    situations = chosen_situations(record, min_level)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tocsin", "text.parse_math": False}):
        for index, situation in enumerate(situations):
            alerts = [alert for alert in record.alerts if _belongs(alert, situation)]
            figure = Figure(figsize=(10, 3.2), layout="constrained")
            _plot(figure.subplots(), record.samples[situation], alerts, index)
            svg = io.StringIO()
            figure.savefig(svg, format="svg", metadata={"Date": None})
            sections.append(_section(situation, index, _inline(svg.getvalue()), alerts))
    path.write_text(_page(title, record, situations, sections), encoding="utf-8")


def _plot(axes: Axes, series: list[Sample], alerts: list[Alert], index: int) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num

    times = date2num([sample.at for sample in series])
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.plot(times, [sample.score for sample in series], color="#2166ac", linewidth=1.2, label="score",
              gid=f"score-{index}")
    axes.set_ylabel("score")
    levels = axes.twinx()
    levels.step(times, [sample.level for sample in series], where="post", color="#d6604d", linewidth=1.6,
                label="level", gid=f"level-{index}")
    levels.set_yticks(range(len(LEVELS) + 1), ["none", *LEVELS])
    levels.set_ylim(-0.2, len(LEVELS) + 0.4)
    by_kind: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_kind[alert.kind].append(alert)
    for kind, marked in by_kind.items():
        marker, colour = MARKERS.get(kind, ("|", "#4d4d4d"))
        heights = [level_rank(str(a.extra.get("level"))) if kind == "escalation" else len(LEVELS) + 0.2
                   for a in marked]
        levels.scatter(date2num([a.created for a in marked]), heights, marker=marker, color=colour, s=60, zorder=3,
                       label=kind.replace("_", " "), gid=f"alerts-{index}-{kind}")
    handles = [*axes.get_legend_handles_labels()[0], *levels.get_legend_handles_labels()[0]]
    levels.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1), fontsize="small", frameon=False,
                  ncols=len(handles))
    axes.grid(True, color="#eeeeee")


def _inline(svg: str) -> str:
    """The SVG document as an element: its XML declaration and DOCTYPE belong to a file, not to a page."""
    return svg[svg.index("<svg"):]


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _link(url: str, text: str) -> str:
    shown = html.escape(text)
    if url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}" rel="noreferrer">{shown}</a>'
    return shown


def _alert_rows(alerts: Iterable[Alert]) -> str:
    rows = []
    for alert in alerts:
        items = "<br>".join(_link(item.link, f"{item.title} ({item.feed})") for item in alert.items[:3])
        rows.append(
            f'<tr class="{html.escape(alert.kind)}"><td>{_when(alert.created)}</td><td>{html.escape(alert.kind)}</td>'
            f"<td>{html.escape(alert.severity.value)}</td><td>{html.escape(alert.title)}</td><td>{items}</td></tr>"
        )
    head = "<tr><th>time (UTC)</th><th>kind</th><th>severity</th><th>alert</th><th>items</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>" if rows else "<p>No alert.</p>"


def _section(situation: str, index: int, svg: str, alerts: list[Alert]) -> str:
    return (f'<section class="situation" id="situation-{index}"><h2>{html.escape(situation)}</h2>'
            f'<div class="plot">{svg}</div>{_alert_rows(alerts)}</section>')


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 2em; }
td, th { border-bottom: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; }
tr.escalation td { background: #fdf0ee; }
.plot svg { width: 100%; height: auto; }
"""


def _page(title: str, record: ReplayRecord, situations: list[str], sections: list[str]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for alert in record.alerts:
        counts[alert.kind] += 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items())) or "no alerts"
    contents = "".join(f'<li><a href="#situation-{n}">{html.escape(key)}</a></li>' for n, key in enumerate(situations))
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{len(record.alerts)} alerts: {summary}.</p>"
        f"<ul>{contents}</ul>{''.join(sections)}"
        f'<section id="all-alerts"><h2>All alerts</h2>{_alert_rows(record.alerts)}</section>'
        "</body></html>\n"
    )
