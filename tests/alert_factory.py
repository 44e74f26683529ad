"""Alerts and delivery setups for the delivery tests: real SQLite, real worker, a simulated clock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tocsin.alerts import Alert, AlertItem
from tocsin.clock import SimulatedClock
from tocsin.config.delivery import DeliveryConfig
from tocsin.deliver.route import Router
from tocsin.deliver.worker import DeliveryWorker
from tocsin.matching.model import Deadline, Evidence, Quantity
from tocsin.severity import Severity
from tocsin.store import Database, open_database

T0 = datetime(2020, 2, 17, 9, 0, tzinfo=UTC)
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "alert.schema.json"


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def make_alert(n: int = 1, *, severity: Severity = Severity.HIGH, rule: str = "shootdown-aircraft",
               title: str | None = None, tags: tuple[str, ...] = ("shootdown",), places: tuple[str, ...] = ("Idlib",),
               story_id: str | None = None, created: datetime = T0, link: str | None = None) -> Alert:
    return Alert(
        id=Alert.make_id("test-alert", str(n), rule),
        kind="match",
        severity=severity,
        title=title or f"Shootdown — helicopter, Idlib #{n}",
        summary="A Syrian army helicopter was shot down over Idlib province, a war monitor said.",
        created=created,
        rule=rule,
        tags=tags,
        places=places,
        actors=("Syria", "Turkey"),
        items=(AlertItem(title=title or f"Helicopter downed in Idlib #{n}",
                         link=link or f"https://news.example.org/idlib/{n}", feed="example-world", published=created),),
        evidence=(Evidence(field="title", start=0, end=10, text="Helicopter"),),
        quantities=(Quantity(unit="killed", value=2, qualifier="at least", text="at least two killed"),),
        deadline=Deadline(at=datetime(2020, 2, 29, 23, 59, 59, tzinfo=UTC), text="by the end of the month"),
        story_id=story_id,
    )


def webhook_config_file(tmp_path: Path, url: str, secret: str, extra: str = "") -> Path:
    """A tocsin.toml with state under tmp_path and one signed webhook receiver "hook" as the default route."""
    (tmp_path / "hook-secret").write_text(secret + "\n")
    path = tmp_path / "tocsin.toml"
    path.write_text(f"""state_dir = "{tmp_path / 'state'}"
{extra}
[[delivery.receivers]]
name = "hook"
kind = "webhook"
url = "{url}"
secret = {{ file = "{tmp_path / 'hook-secret'}" }}

[delivery.default]
receivers = ["hook"]
group_wait = "0s"
""")
    return path


def config(receivers: list[dict[str, Any]], **extra: Any) -> DeliveryConfig:
    """A delivery config routing everything to every receiver at once (no group_wait) unless told otherwise."""
    data: dict[str, Any] = {
        "receivers": receivers,
        "default": {"receivers": [r["name"] for r in receivers]},
        "grouping": {"group_wait": "0s", "group_interval": "0s", "repeat_interval": "4h", "group_by": ["..."]},
        "retry": {"base": "10s", "max": "10m"},
    }
    data.update(extra)
    return DeliveryConfig.model_validate(data)


@dataclass
class Setup:
    db: Database
    clock: SimulatedClock
    router: Router
    worker: DeliveryWorker

    def enqueue(self, *alerts: Alert) -> None:
        with self.db.transaction():
            self.router.enqueue(alerts)

    async def drain_until_settled(self, rounds: int = 20, step: timedelta = timedelta(minutes=1)) -> None:
        """Drain, move the clock on, drain again: retries fall due without sleeping."""
        for _ in range(rounds):
            if await self.worker.drain(timeout_s=10) == 0:
                return
            self.clock.advance(step)


def setup(where: Path | Database, delivery: DeliveryConfig, start: datetime = T0) -> Setup:
    """Delivery on a store: an SQLite file under the directory `where`, or the store given."""
    db = where if isinstance(where, Database) else open_database(where / "state" / "tocsin.sqlite3")
    clock = SimulatedClock(start)
    worker = DeliveryWorker(db, delivery, clock)
    return Setup(db, clock, worker.router, worker)
