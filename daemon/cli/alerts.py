"""`tocsin alerts`: what the outbox holds (pending, dead, recent alerts) and requeueing.

    tocsin alerts [--pending | --dead | --recent N] [--json]
    tocsin alerts retry ID...        (a delivery number, or an alert id: alrt_...)
    tocsin alerts retry --dead
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from tocsin.cli.colour import SEVERITY_STYLES, Palette, add_color_argument
from tocsin.cli.common import EX_FAILURE, EX_OK, add_config_argument, open_state, print_json_array, print_problems
from tocsin.cli.table import Cell, render_table
from tocsin.deliver.base import one_line
from tocsin.store import Database
from tocsin.store.outbox import Delivery, DeliveryState, OutboxStore
from tocsin.units import format_duration


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "List the outbox (pending deliveries by default) or requeue deliveries."
    add_config_argument(parser)
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--pending", action="store_true", help="deliveries waiting to be sent (the default)")
    shown.add_argument("--dead", action="store_true", help="deliveries that failed for good (dead letters)")
    shown.add_argument("--recent", type=int, metavar="N", help="the N most recent alerts and where they went")
    parser.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    parser.add_argument("--limit", type=int, default=100, help="show at most this many deliveries (default 100)")
    add_color_argument(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    retry = actions.add_parser("retry", help="requeue deliveries: by number, by alert id, or every dead one")
    retry.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="configuration file")
    retry.add_argument("ids", nargs="*", metavar="ID", help="a delivery number or an alert id (alrt_...)")
    retry.add_argument("--dead", action="store_true", dest="retry_dead", help="requeue every dead delivery")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.action == "retry" and not args.ids and not args.retry_dead:
        print_problems(["alerts retry: give delivery numbers or alert ids, or --dead"])
        return EX_FAILURE
    opened = open_state(args)
    if isinstance(opened, int):
        return opened
    _settings, db = opened
    try:
        if args.action == "retry":
            return _retry(db, args.ids, every_dead=args.retry_dead)
        return _list(OutboxStore(db), args)
    finally:
        db.close()


def _retry(db: Database, ids: list[str], *, every_dead: bool) -> int:
    store = OutboxStore(db)
    chosen: list[int] = store.dead_ids() if every_dead else []
    unknown = []
    for given in ids:
        if given.isdigit() and store.get(int(given)) is not None:
            chosen.append(int(given))
        elif given.startswith("alrt_") and (found := store.deliveries_of(given)):
            chosen.extend(delivery.id for delivery in found if delivery.state != "pending")
        else:
            unknown.append(given)
    if unknown:
        print_problems([f"alerts retry: no delivery or alert {given!r} in the outbox" for given in unknown])
        return EX_FAILURE
    with db.transaction():
        count = store.requeue(sorted(set(chosen)), datetime.now(UTC))
    print(f"requeued {count} deliver{'y' if count == 1 else 'ies'}; a running tocsin sends "
          f"{'it' if count == 1 else 'them'} within seconds")
    return EX_OK


def _list(store: OutboxStore, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    palette = Palette.for_stream(args.color, sys.stdout)
    if args.recent is not None:
        alerts = store.recent_alerts(max(args.recent, 0))
        deliveries = {alert.id: store.deliveries_of(alert.id) for alert in alerts}
        if args.json:
            print_json_array({**alert.to_json(), "deliveries": [d.to_json() for d in deliveries[alert.id]]}
                             for alert in alerts)
            return EX_OK
        rows: list[list[Cell]] = []
        for alert in alerts:
            where = ", ".join(f"{d.receiver}:{d.state}" for d in deliveries[alert.id]) or "(waiting or no route)"
            dead = any(d.state == "dead" for d in deliveries[alert.id])
            rows.append([f"{format_duration(now - alert.created)} ago",
                         (alert.severity.value, SEVERITY_STYLES[alert.severity]), alert.kind, alert.id,
                         (where, "alarm" if dead else None), one_line(alert.title, 80)])
        print(render_table(("CREATED", "SEVERITY", "KIND", "ALERT", "DELIVERIES", "TITLE"), rows, palette))
        return EX_OK
    state: DeliveryState = "dead" if args.dead else "pending"
    listed = store.listing(state, max(args.limit, 0))
    titles = {alert.id: alert.title for alert in store.alerts([d.alert_ids[0] for d in listed if d.alert_ids])}
    if args.json:
        print_json_array({**d.to_json(), "title": titles.get(d.alert_ids[0]) if d.alert_ids else None}
                         for d in listed)
        return EX_OK
    counts = store.counts()
    header = ("ID", "RECEIVER", "AGE", "TRIES", "NEXT" if state == "pending" else "DIED", "ALERTS", "TITLE", "ERROR")
    table: list[list[Cell]] = []
    for delivery in listed:
        table.append([
            str(delivery.id), delivery.receiver, format_duration(now - delivery.created_at), str(delivery.attempts),
            _when(delivery, now), str(len(delivery.alert_ids)),
            one_line(titles.get(delivery.alert_ids[0], "") if delivery.alert_ids else "", 60),
            (one_line(delivery.last_error or "", 100), "alarm" if state == "dead" else "warn"),
        ])
    print(render_table(header, table, palette))
    print(f"{counts['pending']} pending, {counts['dead']} dead, {counts['delivered']} delivered")
    return EX_OK


def _when(delivery: Delivery, now: datetime) -> str:
    if delivery.state == "pending":
        ahead = delivery.next_attempt_at - now
        return f"in {format_duration(ahead)}" if ahead.total_seconds() > 0 else "due"
    return f"{format_duration(now - delivery.finished_at)} ago" if delivery.finished_at else "-"

