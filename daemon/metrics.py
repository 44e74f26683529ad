"""Every Prometheus metric tocsin exports, in one registry (served at /metrics by the health listener).

Stages increment these; nothing else registers metrics, so the full list is readable here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
# process_cpu_seconds_total, process_resident_memory_bytes, open fds: what the daemon itself costs between scrapes.
ProcessCollector(registry=REGISTRY)

polls = Counter(
    "tocsin_polls", "Feed polls by outcome (changed, not_modified, unchanged, error, not_stored, gone).",
    ["outcome"], registry=REGISTRY,
)
fetch_seconds = Histogram(
    "tocsin_fetch_duration_seconds", "Time from request to full body, per poll.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY,
)
items = Counter("tocsin_items", "Items parsed from feeds, new or already seen.", ["state"], registry=REGISTRY)
matches = Counter("tocsin_matches", "Rule matches by rule.", ["rule"], registry=REGISTRY)
alerts = Counter("tocsin_alerts", "Alerts decided, by kind and severity.", ["kind", "severity"], registry=REGISTRY)
deliveries = Counter(
    "tocsin_deliveries", "Delivery attempts by receiver and outcome (delivered, retry, dead).",
    ["receiver", "outcome"], registry=REGISTRY,
)
outbox_depth = Gauge("tocsin_outbox_pending", "Deliveries waiting in the outbox.", registry=REGISTRY)
dead_letters = Gauge("tocsin_outbox_dead", "Deliveries in the dead-letter list.", registry=REGISTRY)
feeds_failing = Gauge("tocsin_feeds_failing", "Feeds whose last poll failed.", registry=REGISTRY)
rules_loaded = Gauge("tocsin_rules_loaded", "Rules in the active rule set.", registry=REGISTRY)
instances_alive = Gauge("tocsin_instances_alive", "Instances sharing the PostgreSQL store seen within a lease time.",
                        registry=REGISTRY)
leases_held = Gauge("tocsin_leases_held", "Feed polls and deliveries this instance holds by lease.", ["kind"],
                    registry=REGISTRY)
leader = Gauge("tocsin_leader", "1 while this instance holds the leader lease of the singleton jobs.",
               registry=REGISTRY)
store_errors = Counter(
    "tocsin_store_errors", "State database jobs that failed: full (no space left), io (the disk failed), other.",
    ["kind"], registry=REGISTRY,
)
for _kind in ("full", "io", "other"):
    store_errors.labels(_kind)  # every series from the start, at 0, so a rate() sees the first failure
reloads = Counter("tocsin_reloads", "Configuration and rule reloads by outcome.", ["outcome"], registry=REGISTRY)
loop_lag = Histogram(
    "tocsin_event_loop_lag_seconds", "How late the event loop ran a timer scheduled for now.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1), registry=REGISTRY,
)
