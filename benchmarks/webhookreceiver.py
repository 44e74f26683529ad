"""A webhook receiver for benchmarks, in its own process: `python -m benchmarks.webhookreceiver`.

Answers every POST with 204 and records, for each feed-farm item a `match` alert names (by its link), when the
first alert about it arrived (time.time(), comparable with the farm's send times on the same machine). GET /__received
returns those times as JSON. Signatures are not checked: the tests do that; here only the arrival time matters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.feedfarm import key_of_link
from benchmarks.localserver import Limits, Request, Response, ServerProcess, serve


class Receiver:
    def __init__(self) -> None:
        self.received_at: dict[str, float] = {}
        self.posts = 0

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            arrived = time.time()
            self.posts += 1
            try:
                alert = json.loads(request.body)
            except ValueError:
                return Response(400, b"not JSON\n")
            # Only an item's own alert counts: an escalation or story update that lists it later is another thing.
            own = isinstance(alert, dict) and alert.get("kind") == "match"
            for item in alert.get("items", []) if own else []:
                key = key_of_link(str(item.get("link", "")))
                if key is not None:
                    self.received_at.setdefault(key, arrived)
            return Response(204)
        if request.path == "/__received":
            body = json.dumps({"posts": self.posts, "received_at": self.received_at}).encode()
            return Response(200, body, {"Content-Type": "application/json"})
        return Response(404)


class WebhookReceiverProcess(ServerProcess):
    def __init__(self, max_seconds: float = 600.0) -> None:
        super().__init__("benchmarks.webhookreceiver", ["--max-seconds", str(max_seconds)])

    def received(self) -> tuple[int, dict[str, float]]:
        """(POSTs so far, item key -> first arrival time)."""
        answer = self.get_json("/__received")
        return int(answer["posts"]), dict(answer["received_at"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(serve(Receiver().handle, 1, Limits(args.max_seconds, args.max_requests)))


if __name__ == "__main__":
    main()
