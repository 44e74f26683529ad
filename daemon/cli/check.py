"""`tocsin check`: validate the configuration and the rules and run the rules' examples; exit 0 when valid, 1
listing every problem. A rule whose matching cost is out of line is a warning (matching/cost.py)."""

from __future__ import annotations

import argparse
import sys

from tocsin.cli.common import EX_FAILURE, EX_OK, add_config_argument, load_settings_and_rules, print_problems
from tocsin.clock import SystemClock
from tocsin.config import unreadable_secrets
from tocsin.deliver.registry import receiver_problems
from tocsin.errors import ConfigError
from tocsin.matching.cost import costly_rules
from tocsin.matching.examples import example_problems
from tocsin.matching.rules import RuleSet


def register(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        settings, rules = load_settings_and_rules(args)
    except ConfigError as exc:
        return _failed(exc.problems)
    if isinstance(rules.matching, RuleSet):
        # Warnings, not problems: a slow rule still works, and the operator may accept its cost.
        for warning in costly_rules(rules.matching):
            print(f"warning: {warning}", file=sys.stderr)
    problems = unreadable_secrets(settings) or receiver_problems(settings.delivery.receivers, SystemClock())
    if problems:
        return _failed([f"{settings.source}: {problem}" for problem in problems])
    if isinstance(rules.matching, RuleSet) and (failed := example_problems(rules.matching)):
        return _failed(failed.in_file_order())
    enabled = sum(1 for feed in settings.feeds if feed.enabled)
    print(f"{settings.source}: OK: {enabled} feed(s) enabled, {rules.describe()} loaded")
    return EX_OK


def _failed(problems: list[str]) -> int:
    print_problems(problems)
    print(f"{len(problems)} problem(s) found", flush=True)
    return EX_FAILURE
