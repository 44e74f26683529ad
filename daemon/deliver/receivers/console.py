"""The console receiver: alerts printed readably to standard output (what `make run` shows a new user)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from tocsin.alerts import Alert
from tocsin.config.delivery import ConsoleReceiver
from tocsin.deliver.base import Outcome
from tocsin.deliver.text import render


class ConsoleSender:
    def __init__(self, config: ConsoleReceiver, stream: TextIO | None = None) -> None:
        self.name = config.name
        self._stream = stream

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        stream = self._stream or sys.stdout
        try:
            print("\n".join(render(alert) for alert in alerts), file=stream, flush=True)
        except OSError as exc:
            return Outcome.retry(f"cannot write to standard output ({exc.strerror})")
        return Outcome.delivered()
