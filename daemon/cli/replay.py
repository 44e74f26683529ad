"""`tocsin replay`. (Placeholder: filled in by the issue that owns this command.)"""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("replay", help="(not yet implemented)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    raise NotImplementedError("replay")
