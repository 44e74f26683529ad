"""`tocsin match`: run the rules on documents (feed files — RSS, Atom, RDF or JSON Feed —, URLs, plain-text files
or text on stdin); no state, no delivery.

Exit 0 whether or not anything matched (when nothing did, stderr says "0 of N item(s) matched"), 1 when a source
cannot be read or parsed, 78 when the rules are invalid. Colour on a terminal, off with NO_COLOR or --color=never.
The `--json` line shape is documented in docs/match-output.md and is a contract: add fields, never rename.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from tocsin.cli.colour import SEVERITY_STYLES, Palette, add_color_argument
from tocsin.cli.common import EX_CONFIG, EX_FAILURE, EX_OK, print_problems
from tocsin.errors import ParseError, RuleError
from tocsin.fetch.client import USER_AGENT
from tocsin.items import Item, document_item
from tocsin.matching.model import Evidence, Match
from tocsin.matching.rules import RuleSet, load_rules
from tocsin.parse import FeedSource, parse_feed
from tocsin.shipped import default_rules

MAX_BODY_BYTES = 15 * 1024 * 1024
FETCH_TIMEOUT_S = 20.0


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the rules on documents: no state, no delivery. SOURCE is a feed file, an http(s) URL, "
        "a plain-text file, or - for plain text on stdin (a text's first line is the title, the rest "
        "the summary)."
    )
    parser.add_argument("--rules", metavar="PATH", action="append", type=Path,
                        help="rule file or directory (repeatable; default: the rules shipped with tocsin)")
    parser.add_argument("--json", action="store_true", help="one JSON object per matching item (docs/match-output.md)")
    parser.add_argument("--now", metavar="ISO8601", type=_timestamp,
                        help="reference time for items without a publication date (default: now)")
    add_color_argument(parser)
    parser.add_argument("sources", metavar="SOURCE", nargs="+")
    parser.set_defaults(handler=handle)


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time (e.g. 2020-02-17T09:00:00Z)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_items(source: str, now: datetime, stdin: TextIO) -> list[Item]:
    """The items of one SOURCE; raise OSError, httpx.HTTPError or ParseError when it cannot be had."""
    if source == "-":
        return [document_item(stdin.read(), "stdin", now)]
    if source.startswith(("http://", "https://")):
        body, url = _download(source)
    else:
        body, url = Path(source).read_bytes(), Path(source).resolve().as_uri()
    text = plain_text(body)
    if text is not None:
        return [document_item(text, source, now)]
    return list(parse_feed(body, FeedSource(name=source, url=url), fetched_at=now).items)


def plain_text(body: bytes) -> str | None:
    """`body` as text when it is a plain-text document rather than a feed: UTF-8 whose first visible character
    is neither `<` (every XML feed, and every HTML page, starts with one) nor `{` (a JSON Feed). None otherwise."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    stripped = text.lstrip()
    return text if stripped and not stripped.startswith(("<", "{")) else None


def _download(url: str) -> tuple[bytes, str]:
    chunks: list[bytes] = []
    size = 0
    headers = {"User-Agent": USER_AGENT}
    with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=True, headers=headers) as client, \
            client.stream("GET", url) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ParseError(f"{url}: body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks), str(response.url)


def item_json(item: Item, matches: Sequence[Match]) -> dict[str, Any]:
    published = item.published.isoformat().replace("+00:00", "Z") if item.published else None
    return {"id": item.id, "title": item.title, "link": item.link, "published": published,
            "matches": [match.to_json() for match in matches]}


def _highlight(text: str, evidence: Sequence[Evidence], palette: Palette) -> str:
    """The evidence painted, or between »guillemets« without colour (the report still shows what fired)."""
    out: list[str] = []
    position = 0
    for found in sorted(evidence, key=lambda e: e.start):
        if found.start < position:
            continue
        words = text[found.start:found.end]
        out.extend((text[position:found.start], palette.paint(words, "alarm") if palette.enabled else f"»{words}«"))
        position = found.end
    out.append(text[position:])
    return "".join(out)


def _excerpts(text: str, evidence: Sequence[Evidence], palette: Palette, context: int = 50) -> list[str]:
    """The parts of a field around its evidence, highlighted: one excerpt per cluster of nearby evidence, so a
    long summary stays readable."""
    clusters: list[list[Evidence]] = []
    for found in sorted(evidence, key=lambda e: e.start):
        if clusters and found.start - clusters[-1][-1].end <= 2 * context:
            clusters[-1].append(found)
        else:
            clusters.append([found])
    excerpts = []
    for cluster in clusters:
        start = max(0, cluster[0].start - context)
        end = min(len(text), max(e.end for e in cluster) + context)
        shifted = [Evidence(e.field, e.start - start, e.end - start, e.text) for e in cluster]
        body = _highlight(text[start:end], shifted, palette).replace("\n", " ")
        excerpts.append(f"{'…' if start else ''}{body}{'…' if end < len(text) else ''}")
    return excerpts


def print_report(item: Item, matches: Sequence[Match], out: TextIO, palette: Palette) -> None:
    published = item.published.isoformat().replace("+00:00", "Z") if item.published else "no date"
    print(f"== {item.title}", file=out)
    print(f"   {item.link or item.feed}  ({published})", file=out)
    for match in matches:
        severity = palette.paint(f"[{match.severity.value.upper()}]", SEVERITY_STYLES[match.severity])
        print(f"  {severity} {match.rule}: {match.title}  tags: {', '.join(match.tags)}", file=out)
        for field, text in (("title", item.title), ("summary", item.summary)):
            evidence = [e for e in match.evidence if e.field == field]
            for excerpt in _excerpts(text, evidence, palette) if evidence else ():
                print(f"      {field}: {excerpt}", file=out)
        for quantity in match.quantities:
            qualifier = f" ({quantity.qualifier})" if quantity.qualifier else ""
            print(f"      quantity: {quantity.unit} = {quantity.to_json()['value']}{qualifier}  \"{quantity.text}\"",
                  file=out)
        if match.deadline:
            print(f"      deadline: {match.deadline.to_json()['at']}  \"{match.deadline.text}\"", file=out)
        if match.places or match.actors:
            print(f"      places: {', '.join(match.places) or '-'}; actors: {', '.join(match.actors) or '-'}",
                  file=out)
    print(file=out)


def handle(args: argparse.Namespace) -> int:
    try:
        rules: RuleSet = load_rules(args.rules or [default_rules()])
    except RuleError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    now: datetime = args.now or datetime.now(UTC)
    status = EX_OK
    palette = Palette.for_stream(args.color, sys.stdout)
    read = matched = 0
    for source in args.sources:
        try:
            items = read_items(source, now, sys.stdin)
        except (OSError, httpx.HTTPError, ParseError) as exc:
            print(f"error: {source}: {exc}", file=sys.stderr)
            status = EX_FAILURE
            continue
        read += len(items)
        for item in items:
            matches = rules.match(item, now=now)
            if not matches:
                continue
            matched += 1
            if args.json:
                print(json.dumps(item_json(item, matches), ensure_ascii=False), flush=True)
            else:
                print_report(item, matches, sys.stdout, palette)
    if not matched:
        # Silence would look like a hang or a broken pipe; stdout stays empty so `--json` consumers see no lines.
        print(f"0 of {read} item(s) matched", file=sys.stderr)
    return status
