"""Generated configuration for benchmark runs of the real daemon: N farm feeds, the default rules, a temp state
directory, and (for latency) a webhook receiver that gets every alert at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from benchmarks.measure import REPO

DEFAULT_RULES = REPO / "rules"


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid TOML basic string


def write_config(
    directory: Path,
    feed_urls: Sequence[str],
    *,
    rule_paths: Sequence[Path] = (DEFAULT_RULES,),
    interval: str = "10m",
    webhook_url: str | None = None,
    retention: str = "30d",
    feed_intervals: Sequence[str] = (),
    synchronous: str = "full",
    realert_interval: str | None = None,
) -> Path:
    """Write tocsin.toml (state under directory/state) and return its path.

    The HTTP settings are the defaults. Every farm feed lives on 127.0.0.1, so the per-host limit (4) bounds the
    requests in flight where a real feed list spreads over many hosts; on loopback a request takes well under a
    millisecond of waiting, so the cycle stays bound by the daemon's CPU. Jitter is off so a cycle starts at once.
    """
    lines = [
        f"state_dir = {_toml_string(str(directory / 'state'))}",
        "",
        "[polling]",
        f'interval = "{interval}"',
        'jitter = "0s"',
        "",
        "[rules]",
        f"paths = [{', '.join(_toml_string(str(path)) for path in rule_paths)}]",
        "",
        "[store]",
        f'retention = "{retention}"',
        f'synchronous = "{synchronous}"',
        "",
        "[health]",
        "enabled = false",
        "",
    ]
    if realert_interval is not None:
        lines += ["[escalation]", f'realert_interval = "{realert_interval}"', ""]
    if webhook_url is not None:
        lines += [
            "[[delivery.receivers]]",
            'name = "bench"',
            'kind = "webhook"',
            f"url = {_toml_string(webhook_url)}",
            # A real deployment signs its webhooks; the signature is part of the cost being measured.
            'secret = { value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }',
            "",
            "[delivery.default]",
            'receivers = ["bench"]',
            'group_by = ["..."]',
            'group_wait = "0s"',
            'group_interval = "0s"',
            "",
        ]
    for index, url in enumerate(feed_urls):
        lines += ["[[feeds]]", f'name = "farm-{index}"', f"url = {_toml_string(url)}"]
        if feed_intervals:
            lines.append(f'interval = "{feed_intervals[index]}"')
        lines.append("")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tocsin.toml"
    path.write_text("\n".join(lines))
    return path
