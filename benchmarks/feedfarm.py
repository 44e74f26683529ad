"""A farm of N synthetic news feeds on 127.0.0.1, run in its own process: `python -m benchmarks.feedfarm`.

Feed i is served at /feed/<i>.xml (RSS 2.0, 50 items of about 900 bytes each unless --items-per-feed says
otherwise, gzip when asked). Each feed keeps its own behaviour across polls, chosen by a fixed hash of i so that
the mix is the same on every run:

- realistic mode: about 70% answer 304 to a conditional request (stable ETag and Last-Modified), about 20% send
  the same body again without validators (the poller must notice by itself that nothing changed), about 10% send
  a changed body with 1-5 new items among the 50 on every poll;
- worst mode: every feed sends a changed body (1-5 new items among 50) on every poll;
- latency mode: every feed sends a changed body whose one new item is a crisis report the default rules match,
  and the farm records when it sent each such item (GET /__sent), so a webhook receiver can time the alert.

With --headlines FILE (JSON lines with "title" and "description", gzip or plain, such as the BBC and CNN headlines of
../shared/peerbench), every item outside latency mode is a real headline instead: feed i shows its own run of
them from offset 97*i, as the peerbench feed server does, so new items bring real wording to matching and
escalation. The first poll of any feed (no validators) is a 200 with the full body. Control endpoints: GET
/__stats (counts since the last reset), POST /__reset, POST /__mode/<mode>. The farm stops by itself (see localserver).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Literal

from benchmarks.localserver import Limits, Request, Response, ServerProcess, serve

Mode = Literal["realistic", "worst", "latency"]
Behaviour = Literal["not_modified", "unchanged", "changed"]
ITEMS_PER_FEED = 50

_PLACES = ("Idlib", "Kharkiv", "Goma", "Khartoum", "Gaza", "Aleppo", "Tigray", "Sanaa", "Bamako", "Mosul",
           "Donetsk", "Rafah", "Juba", "Mogadishu", "Kabul", "Port-au-Prince")
_TOPICS = ("trade talks", "a fuel subsidy reform", "the harvest outlook", "a cabinet reshuffle", "school reopening",
           "a vaccination drive", "power cuts", "the central bank's rate decision", "a port expansion",
           "flood defences", "a teachers' strike", "railway repairs")
_MUNDANE = (
    "Officials met on {when} to discuss {topic} in {place}, according to a statement from the regional governor.",
    "Residents of {place} said prices for bread and cooking oil had risen for the third week in a row.",
    "The ministry said it expected a decision on {topic} before the end of the quarter.",
    "Analysts in {place} cautioned that <a href=\"https://example.org/report\">the latest figures</a> were "
    "preliminary and could be revised.",
    "Local businesses welcomed the plan, though some questioned how <em>{topic}</em> would be financed.",
    "A spokesperson declined to comment on the timetable, citing ongoing consultations with donors.",
)
_CRISIS = (
    "Militants shot down a military helicopter near {place} on {when}, killing both pilots, officials said.",
    "Airstrikes and heavy shelling hit residential districts of {place}, killing at least 14 civilians.",
    "The army sent 7,000 troops and 2,100 armoured vehicles toward the border near {place}.",
    "More than 80,000 people have fled {place} since the offensive began, the UN refugee agency said.",
    "Rebel fighters captured the town of {place} after three days of fighting, cutting the main supply road.",
)


@dataclass(slots=True)
class FeedState:
    version: int = 0
    head: int = ITEMS_PER_FEED
    """Sequence number of the newest item; the body holds items head-49 .. head."""
    cached_version: int = -1
    cached_raw: bytes = b""
    cached_gzip: bytes = b""


def behaviour_of(index: int, mode: Mode) -> Behaviour:
    """Fixed per feed: a multiplicative hash spreads the three behaviours evenly over the indices."""
    if mode != "realistic":
        return "changed"
    bucket = (index * 7919 + 13) % 10
    if bucket < 7:
        return "not_modified"
    return "unchanged" if bucket < 9 else "changed"


def new_items_per_change(index: int, version: int) -> int:
    """1 to 5 new items, varying from feed to feed and poll to poll."""
    return 1 + (index * 31 + version * 17) % 5


Headline = tuple[str, str]
"""(title, description) of a real news item."""


def read_headlines(path: Path) -> list[Headline]:
    """The distinct headlines of a JSON-lines file (gzip when its name ends in .gz), in file order."""
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    return list(dict.fromkeys((record["title"] or "", record.get("description") or "") for record in records))


class Farm:
    def __init__(self, feed_count: int, mode: Mode, items_per_feed: int = ITEMS_PER_FEED,
                 headlines: list[Headline] | None = None) -> None:
        self.headlines = headlines or []
        self.feed_count = feed_count
        self.items_per_feed = items_per_feed
        self.mode: Mode = mode
        self.feeds = [FeedState() for _ in range(feed_count)]
        self.counts: Counter[str] = Counter()
        self.sent_at: dict[str, float] = {}
        """Latency mode: item_key of each new crisis item -> time.time() when its body was answered."""
        self.epoch = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)

    async def handle(self, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        if path.startswith("/feed/") and path.endswith(".xml"):
            index_text = path[len("/feed/"):-len(".xml")]
            if index_text.isdigit() and int(index_text) < self.feed_count:
                return self.feed(int(index_text), request.headers)
        elif path == "/__stats":
            stats = {"counts": dict(self.counts), "requests": sum(self.counts.values()), "mode": self.mode}
            return Response(200, json.dumps(stats).encode(), {"Content-Type": "application/json"})
        elif path == "/__sent":
            return Response(200, json.dumps(self.sent_at).encode(), {"Content-Type": "application/json"})
        elif path == "/__reset" and request.method == "POST":
            self.counts.clear()
            return Response(204)
        elif path.startswith("/__mode/") and request.method == "POST":
            self.mode = _mode(path[len("/__mode/"):])
            return Response(204)
        return Response(404, b"no such feed\n")

    def feed(self, index: int, headers: dict[str, str]) -> Response:
        state = self.feeds[index]
        behaviour = behaviour_of(index, self.mode)
        conditional = "if-none-match" in headers or "if-modified-since" in headers
        first = state.version == 0
        if first:
            state.version = 1
        elif behaviour == "changed":
            state.version += 1
            state.head += 1 if self.mode == "latency" else new_items_per_change(index, state.version)
        validators = {}
        if behaviour != "unchanged":
            validators = {"ETag": f'"f{index}-v{state.version}"',
                          "Last-Modified": format_datetime(self.epoch + timedelta(minutes=state.version), True)}
        if behaviour == "not_modified" and not first and conditional:
            etag_sent = headers.get("if-none-match")
            if etag_sent is None or etag_sent == validators["ETag"]:
                self.counts["not_modified"] += 1
                return Response(304, b"", validators)
        self.counts["first" if first else behaviour] += 1
        if self.mode == "latency" and not first:
            self.sent_at[item_key(index, state.head)] = time.time()
        raw, compressed = self.body(index, state)
        response_headers = {"Content-Type": "application/rss+xml; charset=utf-8", **validators}
        if "gzip" in headers.get("accept-encoding", ""):
            return Response(200, compressed, {**response_headers, "Content-Encoding": "gzip"})
        return Response(200, raw, response_headers)

    def body(self, index: int, state: FeedState) -> tuple[bytes, bytes]:
        if state.cached_version != state.version:
            state.cached_raw = self.render(index, state.head)
            state.cached_gzip = gzip.compress(state.cached_raw, compresslevel=1)
            state.cached_version = state.version
        return state.cached_raw, state.cached_gzip

    def render(self, index: int, head: int) -> bytes:
        items = [self.render_item(index, sequence) for sequence in range(head, head - self.items_per_feed, -1)]
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Synthetic desk {index}</title><link>https://news{index % 97}.example/</link>"
            f"<description>World news from a benchmark feed</description><language>en</language>"
            + "".join(items) + "</channel></rss>\n"
        ).encode()

    def render_item(self, index: int, sequence: int) -> str:
        published = self.epoch + timedelta(minutes=sequence)
        # In latency mode every new item is crisis news, so that each poll has something to alert on.
        new_in_latency_mode = self.mode == "latency" and sequence > ITEMS_PER_FEED
        if self.headlines and not new_in_latency_mode:
            title, summary = self.headlines[(97 * index + sequence) % len(self.headlines)]
        else:
            title, summary = article(index, sequence, published, crisis=new_in_latency_mode)
        return (
            f"<item><title>{escape(title)}</title>"
            f"<link>https://news{index % 97}.example/{index}/{sequence}?utm_source=rss</link>"
            f'<guid isPermaLink="false">{_guid(index, sequence)}</guid>'
            f"<pubDate>{format_datetime(published, True)}</pubDate>"
            f"<description>{escape(summary)}</description><category>World</category></item>"
        )


def article(index: int, sequence: int, published: datetime, *, crisis: bool = False) -> tuple[str, str]:
    """(title, HTML summary) of a news item, fixed by its feed and sequence number. About one item in twenty is
    crisis news about a real place, as on a world desk. `crisis` forces crisis news about an invented town of its
    own, so that each such item is a separate event (a story of its own), not another report of an earlier one."""
    mix = zlib.crc32(f"{index}/{sequence}".encode())
    place = _town(mix) if crisis else _PLACES[mix % len(_PLACES)]
    topic = _TOPICS[(mix >> 4) % len(_TOPICS)]
    when = published.strftime("%A")
    if crisis or (mix >> 8) % 20 == 0:
        lead = _CRISIS[(mix >> 12) % len(_CRISIS)].format(place=place, when=when)
        title = lead.split(",")[0]
    else:
        lead = _MUNDANE[0].format(place=place, when=when, topic=topic)
        title = f"{place}: officials weigh {topic}"
    if crisis:
        # Background in words of its own: without shared sentences, word overlap cannot merge it with another.
        sentences = [lead, " ".join(_town(zlib.crc32(f"{mix}/{n}".encode())).lower() for n in range(40)) + "."]
    else:
        sentences = [lead] + [
            _MUNDANE[1 + (mix >> (16 + 3 * n)) % (len(_MUNDANE) - 1)].format(place=place, when=when, topic=topic)
            for n in range(4)
        ]
    return title, "<p>" + " ".join(sentences) + "</p>"


def _town(mix: int) -> str:
    syllables = ("ka", "vor", "en", "mi", "tal", "ru", "dosh", "an", "bel", "ik", "sar", "umo")
    return "".join(syllables[(mix >> shift) % len(syllables)] for shift in (0, 5, 10, 15)).capitalize()


def _guid(index: int, sequence: int) -> str:
    return f"farm-{index}-{sequence}"


def item_key(index: int, sequence: int) -> str:
    """How the farm and the webhook receiver name an item: `<feed>/<sequence>`, the tail of its link's path."""
    return f"{index}/{sequence}"


_LINK_KEY = re.compile(r"\.example/(\d+)/(\d+)")


def key_of_link(link: str) -> str | None:
    found = _LINK_KEY.search(link)
    return item_key(int(found.group(1)), int(found.group(2))) if found else None


def _mode(text: str) -> Mode:
    if text == "realistic":
        return "realistic"
    if text == "worst":
        return "worst"
    if text == "latency":
        return "latency"
    raise ValueError(f"unknown feed farm mode {text!r} (realistic, worst, latency)")


class FeedFarmProcess(ServerProcess):
    """The benchmark's handle on a running farm."""

    def __init__(self, feed_count: int, mode: Mode = "realistic", max_seconds: float = 900.0,
                 max_requests: int = 1_000_000, items_per_feed: int = ITEMS_PER_FEED,
                 headlines: Path | None = None) -> None:
        super().__init__("benchmarks.feedfarm", ["--feeds", str(feed_count), "--mode", mode,
                                                 "--max-seconds", str(max_seconds),
                                                 "--max-requests", str(max_requests),
                                                 "--items-per-feed", str(items_per_feed),
                                                 *(["--headlines", str(headlines)] if headlines else [])])
        self.feed_count = feed_count

    def feed_url(self, index: int) -> str:
        return self.url(f"/feed/{index}.xml", index)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.get_json("/__stats")["counts"]
        return counts

    def reset(self) -> None:
        self.post("/__reset")

    def set_mode(self, mode: Mode) -> None:
        self.post(f"/__mode/{mode}")

    def sent_at(self) -> dict[str, float]:
        sent: dict[str, float] = self.get_json("/__sent")
        return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--mode", type=_mode, default="realistic")
    parser.add_argument("--items-per-feed", type=int, default=ITEMS_PER_FEED)
    parser.add_argument("--ports", type=int, default=1, help="listen on this many ports (feeds spread over them)")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop after this long")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="stop after this many requests")
    parser.add_argument("--headlines", type=Path, help="JSON lines of real headlines to serve as the items")
    args = parser.parse_args()
    farm = Farm(args.feeds, args.mode, args.items_per_feed, read_headlines(args.headlines) if args.headlines else None)
    asyncio.run(serve(farm.handle, args.ports, Limits(args.max_seconds, args.max_requests),
                      {"feeds": args.feeds, "mode": args.mode}))


if __name__ == "__main__":
    main()
