"""Receivers: one module per kind, each a class with one `async send(alerts) -> Outcome` (see base.py)."""

from daemon.deliver.base import Outcome, Sender
from daemon.deliver.registry import build_sender

__all__ = ["Outcome", "Sender", "build_sender"]
