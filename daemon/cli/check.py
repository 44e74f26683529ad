"""`tocsin check`: validate the configuration and the rules and run the rules' examples; exit 0 when valid, 1
listing every problem of all of them, found in one run. A rule whose matching cost is out of line is a warning
(matching/cost.py). `--json` prints the problems as one JSON array, as the other commands' `--json` do."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tocsin.cli.common import EX_FAILURE, EX_OK, add_config_argument, print_json_array, print_problems
from tocsin.errors import Problem

# The stages are imported when the command runs (cli/common.py says why).
if TYPE_CHECKING:
    from tocsin.config import ConfigRead
    from tocsin.config.delivery import AnyReceiver


def register(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true",
                        help="print every problem as one JSON array of objects (file, line, key, rule, subject, "
                             "message, severity) instead of lines on stderr")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from tocsin.config import read_config
    from tocsin.config.model import RulesConfig

    read = read_config(args.config)
    problems = list(read.problems)
    problems += _secret_and_credential_problems(read)
    rules = read.sections().get("rules")
    described = None
    if isinstance(rules, RulesConfig):  # else its problem is listed already
        # The daemon's rule cache, when the configuration is valid and names a state directory that exists.
        cache = read.settings.state_path if read.settings else None
        rule_problems, described = _rule_problems(rules.resolved(read.path.resolve()), cache)
        problems += rule_problems
    errors = [problem for problem in problems if problem.severity == "error"]
    if args.json:
        print_json_array(problem.to_json() for problem in problems)
    else:
        for warning in problems:
            if warning.severity == "warning":
                print(f"warning: {warning}", file=sys.stderr)
        print_problems([str(error) for error in errors])
    if errors:
        if not args.json:
            print(f"{len(errors)} problem(s) found", flush=True)
        return EX_FAILURE
    if not args.json and read.settings is not None:
        enabled = sum(1 for feed in read.settings.feeds if feed.enabled)
        print(f"{read.settings.source}: OK: {enabled} feed(s) enabled, {described} loaded")
    return EX_OK


def _secret_and_credential_problems(read: ConfigRead) -> list[Problem]:
    """Secrets that cannot be read and receivers whose credentials their sender would refuse, in every part of
    the configuration that is valid on its own."""
    from tocsin.config import unreadable_secrets
    from tocsin.deliver.credentials import credential_problems

    found = [read.problem(location, message)
             for name, section in read.sections().items() if name != "delivery"
             for location, message in unreadable_secrets(section, (name,))]
    for index, receiver in read.receivers():
        where = ("delivery", "receivers", index)
        unreadable = unreadable_secrets(receiver, where)
        found += [read.problem(location, message) for location, message in unreadable]
        if not unreadable and not _needs_systemd(receiver):
            found += [read.problem(where, message) for message in credential_problems(receiver)]
    return found


def _needs_systemd(receiver: AnyReceiver) -> bool:
    """A receiver with a systemd credential can be checked only under systemd; `run` checks it there."""
    from tocsin.config import secret_refs

    return "CREDENTIALS_DIRECTORY" not in os.environ and any(ref.credential for _, ref in secret_refs(receiver))


def _rule_problems(paths: tuple[Path, ...], cache: Path | None) -> tuple[list[Problem], str]:
    """Every problem of the rule files, the failing examples of the rules that compiled, and the rules whose cost
    is out of line (warnings), in file order; and what was loaded."""
    from tocsin.matching.cost import cache_directory, costly_rules
    from tocsin.matching.examples import example_problems
    from tocsin.matching.rules import RuleSet
    from tocsin.rulebook import check_rulebook

    rulebook, problems = check_rulebook(paths, cache)
    if isinstance(rulebook.matching, RuleSet):
        problems.found += example_problems(rulebook.matching).found
        problems.found += costly_rules(rulebook.matching, cache=cache_directory())
    return problems.in_order(), rulebook.describe()
