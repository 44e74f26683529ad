"""A delivery process for the crash tests: the real Router and DeliveryWorker on a state database, as the daemon
wires them. `enqueue N` decides N alerts, one per transaction, printing `DECIDED <id>` after each commit, while the
worker delivers; `deliver` only delivers. Both run until killed.

python -m tests.servers.delivery_process STATE_DB WEBHOOK_URL SECRET (enqueue N | deliver)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.alert_factory import make_alert
from tocsin.clock import SystemClock
from tocsin.config.delivery import DeliveryConfig
from tocsin.deliver.worker import DeliveryWorker
from tocsin.store import open_database


async def main(database: Path, url: str, secret: str, mode: str, count: int) -> None:
    config = DeliveryConfig.model_validate({
        "receivers": [{"name": "hook", "kind": "webhook", "url": url, "secret": {"value": secret}, "timeout": "2s"}],
        "default": {"receivers": ["hook"]},
        "grouping": {"group_wait": "0s", "group_interval": "0s"},
        "retry": {"base": "100ms", "max": "300ms"},
    })
    db = open_database(database)
    clock = SystemClock()
    worker = DeliveryWorker(db, config, clock)
    router = worker.router
    delivering = asyncio.create_task(worker.run())
    if mode == "enqueue":
        for n in range(count):
            alert = make_alert(n, created=clock.now())
            # As the daemon decides alerts: on the database thread, one transaction per decision.
            await db.run(router.enqueue, [alert])
            print(f"DECIDED {alert.id}", flush=True)
            await asyncio.sleep(0.005)
    print("READY", flush=True)
    await delivering


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(Path(args[0]), args[1], args[2], args[3], int(args[4]) if len(args) > 4 else 0))
