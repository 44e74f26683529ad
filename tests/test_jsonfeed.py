"""JSON Feed 1 and 1.1 read as their own format: fields, normalization, non-feeds named, hostile JSON bounded; and
the same feed read alike by `tocsin match` and `tocsin replay` as its RSS twin."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.matching_support import DEFAULT_RULES
from tests.test_scenario import SCENARIO
from tocsin.errors import ParseError
from tocsin.parse import FeedSource, parse_feed

FETCHED = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
SOURCE = FeedSource(name="wire", url="https://news.example.org/feed.json", tags=("world",), language="fr")
V11 = "https://jsonfeed.org/version/1.1"


def json_feed(items: list[Any], **top: Any) -> bytes:
    return json.dumps({"version": V11, "title": "Wire", **top, "items": items}).encode()


def test_fields_are_read_and_normalized() -> None:
    body = json_feed([
        {"id": "g-1", "url": "/world/quake?utm_source=rss", "title": "Quake <b>&amp;</b> tsunami",
         "content_html": "<p>Many <i>hurt</i></p><script>evil()</script>",
         "date_published": "2025-06-10T06:00:00+02:00", "language": "en-GB"},
        {"id": 42, "external_url": "https://elsewhere.example/a", "summary": "Short  words", "content_text": "long",
         "date_modified": "2025-06-09T10:00:00Z"},
        {"id": "undated", "content_text": "Only text"},
    ], language="de")
    parsed = parse_feed(body, SOURCE, FETCHED)
    assert parsed.title == "Wire"
    first, second, third = parsed.items
    # A JSON Feed title is plain text: its markup characters are words.
    assert (first.id, first.title, first.summary) == ("g-1", "Quake <b>&amp;</b> tsunami", "Many hurt")
    assert first.link == "https://news.example.org/world/quake?utm_source=rss"
    assert first.published == datetime(2025, 6, 10, 4, 0, tzinfo=UTC)
    assert (first.language, first.feed, first.feed_tags) == ("en-gb", "wire", ("world",))
    assert (second.id, second.link, second.summary) == ("42", "https://elsewhere.example/a", "Short words")
    assert second.published == datetime(2025, 6, 9, 10, 0, tzinfo=UTC)
    assert second.language == "de"
    assert (third.summary, third.published) == ("Only text", FETCHED)


def test_version_1_a_bom_and_leading_whitespace_are_read() -> None:
    body = codecs.BOM_UTF8 + b"\n  " + json.dumps(
        {"version": "https://jsonfeed.org/version/1", "title": "Old", "items": [{"id": "a", "title": "One"}]}).encode()
    assert [item.title for item in parse_feed(body, SOURCE, FETCHED).items] == ["One"]


def test_items_that_are_not_objects_are_skipped_with_a_warning() -> None:
    parsed = parse_feed(json_feed([{"id": "a", "title": "One"}, "two", 3]), SOURCE, FETCHED)
    assert [item.title for item in parsed.items] == ["One"]
    assert parsed.warning == "2 item(s) of the JSON Feed are not objects and were skipped"


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    body = b'{"version": "%s", "title": "W", "items": [{"id": "a", "title": "bad \\ud800 text \\ud83d\\ude00"}]}' % (
        V11.encode())
    [item] = parse_feed(body, SOURCE, FETCHED).items
    assert item.title == "bad \ufffd text \U0001f600"
    item.title.encode("utf-8")  # storable


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"items": []}', r'looks like JSON but not a JSON Feed \(no "version"'),
        (b'{"version": "2.0", "items": []}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', 'without an "items" list'),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "broken JSON at line 1 column"),
        (b'{"title": "\xff"}', "JSON that is not UTF-8"),
        (b"[1, 2]", "looks like JSON"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "refused: JSON the reader cannot hold"),
        (b'{"a": ' + b"9" * 5000 + b"}", "refused: JSON the reader cannot hold"),
    ],
)
def test_non_feeds_and_hostile_json_are_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=rf'^feed "wire" \(https://news.example.org/feed.json\): .*{message}'):
        parse_feed(body, SOURCE, FETCHED)


def as_json_feed(rss_path: Path) -> str:
    """An RSS snapshot of the scenario written as a JSON Feed 1.1: the same ids, links, texts and dates."""
    channel = ElementTree.parse(rss_path).getroot().find("channel")
    assert channel is not None
    items = [
        {"id": item.findtext("guid"), "url": item.findtext("link"), "title": item.findtext("title"),
         "content_html": item.findtext("description"),
         "date_published": parsedate_to_datetime(item.findtext("pubDate") or "").isoformat()}
        for item in channel.iterfind("item")
    ]
    return json.dumps({"version": V11, "title": channel.findtext("title"), "items": items})


def test_match_reads_a_json_feed_file_as_its_rss_twin(tmp_path: Path) -> None:
    rss_path = SCENARIO / "snapshots" / "01-aw.xml"
    json_path = tmp_path / "01-aw.json"
    json_path.write_text(as_json_feed(rss_path), encoding="utf-8")
    outputs = []
    for path in (rss_path, json_path):
        done = subprocess.run([sys.executable, "-m", "tocsin", "match", "--json", "--rules", str(DEFAULT_RULES),
                               "--now", "2020-02-21T00:00:00Z", str(path)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        outputs.append([json.loads(line) for line in done.stdout.splitlines()])
    assert outputs[0] and outputs[1] == outputs[0]
    assert outputs[1][0]["title"] == "Turkey sends 7,000 troops and 2,100 vehicles into Idlib"


def test_replay_of_json_feed_snapshots_gives_the_alerts_of_the_rss_ones(tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for path in sorted((SCENARIO / "snapshots").iterdir()):
        (snapshots / f"{path.stem}.json").write_text(as_json_feed(path), encoding="utf-8")
    outputs = []
    for folder in (SCENARIO / "snapshots", snapshots):
        done = subprocess.run([sys.executable, "-m", "tocsin", "replay", "--json", "--config",
                               str(SCENARIO / "tocsin.toml"), str(folder)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        outputs.append([json.loads(line) for line in done.stdout.splitlines()])
    assert len(outputs[0]) > 5
    # The same items, rules and times give the same alerts; only the snapshot file names in the ids differ.
    assert [(a["kind"], a["title"], a["created"]) for a in outputs[1]] == [
        (a["kind"], a["title"], a["created"]) for a in outputs[0]]
