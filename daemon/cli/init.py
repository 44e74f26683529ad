"""`tocsin init [DIR]`: a starter configuration (the commented example) and, with --rules, an editable copy of
the default rules, for an operator starting from an installed tocsin."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tocsin.cli.common import EX_FAILURE, EX_OK
from tocsin.shipped import default_rules, example_config

CONFIG_NAME = "tocsin.toml"
RULES_LINE_OFF = '# paths = ["rules"]\n'
RULES_LINE_ON = 'paths = ["rules"]\n'


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help="where to write (default: here)")
    parser.add_argument("--rules", action="store_true",
                        help="also copy the default rules into DIR/rules and point the configuration at them")
    parser.add_argument("--force", action="store_true", help="overwrite files that already exist")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    config_text = example_config().read_text(encoding="utf-8")
    if args.rules:
        if config_text.count(RULES_LINE_OFF) != 1:
            print(f"error: {example_config()}: no single '{RULES_LINE_OFF.strip()}' line to enable", file=sys.stderr)
            return EX_FAILURE
        config_text = config_text.replace(RULES_LINE_OFF, RULES_LINE_ON)
    writes: dict[Path, Path | str] = {target / CONFIG_NAME: config_text}
    if args.rules:
        writes.update({target / "rules" / source.name: source for source in sorted(default_rules().glob("*.toml"))})
    existing = [path for path in writes if path.exists()]
    if existing and not args.force:
        for path in existing:
            print(f"error: {path} exists (--force overwrites it)", file=sys.stderr)
        return EX_FAILURE
    try:
        for path, content in writes.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, path)
            else:
                path.write_text(content, encoding="utf-8")
    except OSError as exc:
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EX_FAILURE
    for path in writes:
        print(f"wrote {path}")
    config = target / CONFIG_NAME
    print(f"next: edit {config} (feeds, receivers), then: tocsin check --config {config}")
    return EX_OK
