"""The fast reader: each format read as feedparser reads it, every unusual document left to feedparser, and
feed content inert on both paths."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.feed_server import quadratic_bomb
from tocsin.errors import ParseError
from tocsin.items import Item
from tocsin.parse import FeedSource, parse_fast, parse_feed, parse_loose, plain_text
from tocsin.parse.dates import parse_date

FETCHED = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
SOURCE = FeedSource(name="wire", url="https://news.example.org/world/rss.xml", tags=("world",), language="fr")
FIELDS = ("id", "title", "link", "published", "summary", "language")


def fields(item: Item) -> tuple[object, ...]:
    return tuple(getattr(item, name) for name in FIELDS)


def fast_items(body: bytes, source: FeedSource = SOURCE) -> tuple[Item, ...]:
    """The fast reader's items, checked against feedparser's reading of the same body."""
    fast = parse_fast(body, source, FETCHED)
    assert fast is not None, "the fast reader left a well-formed feed to feedparser"
    loose = parse_loose(body, source, FETCHED)
    assert [fields(item) for item in fast.items] == [fields(item) for item in loose.items]
    assert fast.title == loose.title
    return fast.items


def rss(items: str, channel_extra: str = "", namespaces: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {namespaces}><channel><title>Wire</title>'
        f"{channel_extra}{items}</channel></rss>"
    ).encode()


def test_rss2_fields() -> None:
    first, second, third = fast_items(rss(
        '<item><title>Quake &amp; &lt;b&gt;tsunami&lt;/b&gt;</title><guid isPermaLink="false">g-1</guid>'
        "<link>/world/quake?utm_source=rss</link>"
        "<description>&lt;p&gt;Many &lt;i&gt;hurt&lt;/i&gt;&lt;/p&gt;&lt;script&gt;evil()&lt;/script&gt;</description>"
        "<pubDate>Tue, 10 Jun 2025 06:00:00 +0200</pubDate></item>"
        "<item><guid>https://news.example.org/permalink/2</guid><title>Permalink guid</title>"
        "<content:encoded><![CDATA[<p>Full <em>text</em></p>]]></content:encoded>"
        "<dc:date>2025-06-09T22:15:00Z</dc:date><dc:language>de</dc:language></item>"
        "<item><title>1 &lt; 2 is <plain> text</title><link>https://e.org/a?x=1&amp;amp;y=2</link></item>",
        "<language>en-GB</language>",
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ).replace(b"<plain>", b"&lt;plain&gt;"))
    assert (first.id, first.title, first.summary) == ("g-1", "Quake & tsunami", "Many hurt")
    assert first.link == "https://news.example.org/world/quake?utm_source=rss"
    assert first.published == datetime(2025, 6, 10, 4, 0, tzinfo=UTC)
    assert first.language == "en-gb"
    assert second.link == "https://news.example.org/permalink/2"  # a permalink guid is the link
    assert (second.summary, second.language) == ("Full text", "de")
    assert second.published == datetime(2025, 6, 9, 22, 15, tzinfo=UTC)
    assert third.title == "1 < 2 is <plain> text"  # a plain-text title keeps its angle brackets
    assert third.link == "https://e.org/a?x=1&y=2"


def test_rss1_rdf() -> None:
    body = (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b'<channel rdf:about="https://e.org/"><title>Desk</title><link>https://e.org/</link>'
        b"<dc:language>es</dc:language></channel>"
        b'<item rdf:about="https://e.org/1"><title>One</title><link>https://e.org/1</link>'
        b"<description>First &amp;amp; only</description><dc:date>2025-06-09T10:00:00+02:00</dc:date></item>"
        b"</rdf:RDF>"
    )
    (item,) = fast_items(body)
    assert (item.id, item.title, item.summary, item.language) == ("https://e.org/1", "One", "First & only", "es")
    assert item.published == datetime(2025, 6, 9, 8, tzinfo=UTC)


def test_rss091_with_external_doctype() -> None:
    body = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS '
        b'0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<title>Old</title><language>pt</language><item><title>Caf\xe9</title><link>http://e.org/c</link>"
        b"<description>Cr\xe8me</description></item></channel></rss>"
    )
    (item,) = fast_items(body)
    assert (item.title, item.summary, item.id, item.language) == ("Café", "Crème", "http://e.org/c", "pt")


def test_atom() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en_US">'
        b'<title type="html">&lt;b&gt;Atom&lt;/b&gt; desk</title>'
        b"<entry><id>urn:uuid:1</id><title>Plain &lt;text&gt; title</title>"
        b'<link rel="enclosure" href="https://e.org/a.mp3"/><link href="/story/1"/>'
        b'<link rel="alternate" type="application/atom+xml" href="https://e.org/1.atom"/>'
        b'<summary type="html">&lt;p&gt;Shelling &lt;b&gt;near&lt;/b&gt; the border&lt;/p&gt;</summary>'
        b"<updated>2025-06-09T10:00:00Z</updated><published>2025-06-08T10:00:00.5+01:00</published></entry>"
        b"<entry><id>https://e.org/2</id><title type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
        b"XHTML <em>title</em></div></title><content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
        b"<p>one</p><p>two</p><script>no()</script></div></content><updated>2025-06-09T11:00:00Z</updated></entry>"
        b"</feed>"
    )
    first, second = fast_items(body)
    assert (first.id, first.title) == ("urn:uuid:1", "Plain <text> title")
    assert first.link == "https://news.example.org/story/1"  # the alternate HTML link, resolved
    assert first.summary == "Shelling near the border"
    assert first.published == datetime(2025, 6, 8, 9, tzinfo=UTC)  # published before updated
    assert first.language == "en-us"
    assert second.link == "https://e.org/2"  # no link: the id is the link, as feedparser has it
    assert (second.title, second.summary) == ("XHTML title", "one two")
    assert parse_feed(body, SOURCE, FETCHED).title == "Atom desk"


def test_summary_falls_back_to_media_description() -> None:
    body = rss(
        '<item><title>Video</title><link>https://e.org/v</link><media:group><media:title>ignored</media:title>'
        "<media:description>What the video shows</media:description></media:group></item>",
        namespaces='xmlns:media="http://search.yahoo.com/mrss/"',
    )
    (item,) = fast_items(body)
    assert (item.title, item.summary) == ("Video", "What the video shows")


def test_item_own_description_beats_an_image_caption() -> None:
    # feedparser takes a media:description that comes first (an image caption here); the item's own text wins.
    body = rss(
        "<item><title>t</title><link>https://e.org/1</link><media:content url='https://e.org/i.jpg'>"
        "<media:description>Caption of the photo</media:description></media:content>"
        "<description>What happened</description></item>",
        namespaces='xmlns:media="http://search.yahoo.com/mrss/"',
    )
    fast = parse_fast(body, SOURCE, FETCHED)
    assert fast is not None and fast.items[0].summary == "What happened"
    assert parse_loose(body, SOURCE, FETCHED).items[0].summary == "Caption of the photo"


WELL_FORMED_ITEM = "<item><title>t</title><link>https://e.org/1</link></item>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (rss("<item><title>Broken &nbsp; entity</title><link>/a</link></item>"), None),  # undefined entity
        (rss("<item><title>unclosed</title>"), None),  # ill-formed
        ('<?xml version="1.0" encoding="big5"?><rss version="2.0"><channel><title>\u4e2d</title>'
         f"{WELL_FORMED_ITEM}</channel></rss>".encode("big5"), None),  # an encoding expat cannot decode
        (rss(WELL_FORMED_ITEM), "application/rss+xml; charset=iso-8859-1"),  # the header contradicts the document
        (b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Atom 0.3</title><entry><title>t</title>'
         b'<link rel="alternate" type="text/html" href="https://e.org/1"/></entry></feed>', None),
        (b'<CHANNEL HREF="https://e.org/"><TITLE>CDF</TITLE><ITEM HREF="https://e.org/1"><TITLE>t</TITLE></ITEM>'
         b"</CHANNEL>", None),
        (b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.example/"><title>b</title><entry>'
         b'<id>x</id><title>t</title><link href="rel"/></entry></feed>', None),
        (rss("<item><title>Markup <b>inside</b> a title</title><link>/a</link></item>"), None),
        (rss(f"<foo>{WELL_FORMED_ITEM}</foo>"), None),  # entries where the reader does not look
        (rss('<x:item xmlns:x="urn:other"><title>t</title></x:item>'), None),  # no entries, yet an <item
    ],
    ids=["entity", "ill-formed", "big5", "charset-header", "atom03", "cdf", "xml-base", "markup-in-title",
         "nested-item", "foreign-item"],
)
def test_unusual_documents_are_left_to_feedparser(body: bytes, content_type: str | None) -> None:
    source = FeedSource("wire", "https://news.example.org/rss.xml", content_type=content_type)
    assert parse_fast(body, source, FETCHED) is None
    try:
        parsed = parse_feed(body, source, FETCHED)
    except ParseError:
        return  # feedparser cannot read it either: a clear error, as before
    assert [fields(item) for item in parsed.items] == [
        fields(item) for item in parse_loose(body, source, FETCHED).items
    ]


def test_the_guard_runs_before_the_fast_reader() -> None:
    with pytest.raises(ParseError, match="refused"):
        parse_fast(quadratic_bomb(1, 10).encode(), SOURCE, FETCHED)


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{secret.as_uri()}"><rss version="2.0"><channel><title>x'
        f"</title><item><title>a &xxe; b</title><link>https://e.org/1</link></item></channel></rss>"
    ).encode()
    assert parse_fast(body, SOURCE, FETCHED) is None  # expat reports the undefined entity
    parsed = parse_feed(body, SOURCE, FETCHED)
    assert "TOP-SECRET" not in repr(parsed)


def test_hostile_markup_stays_text() -> None:
    (item,) = fast_items(rss(
        "<item><title>&lt;img src=x onerror=alert(1)&gt;Hello</title><link>javascript:alert(1)</link>"
        "<description>&lt;script&gt;steal()&lt;/script&gt;&lt;style&gt;p{}&lt;/style&gt;"
        "&lt;a href=\"x\" title='&gt;'&gt;Link&lt;/a&gt; &amp;lt;b&amp;gt;</description></item>"
    ))
    assert item.link == ""
    assert item.summary == "Link <b>"  # an escaped tag is text, decoded once, never markup
    assert "steal" not in item.summary and "p{}" not in item.summary


@pytest.mark.parametrize(
    "hostile",
    ["<a " * 30_000, "<!" * 40_000, "<script " * 20_000, '<p title="' * 20_000, "<!--" * 20_000],
)
def test_plain_text_is_linear_on_unclosed_markup(hostile: str) -> None:
    # Patterns that could fail after scanning the rest of the text would take minutes here.
    assert plain_text(hostile + "tail", 20_000) in ("", "tail")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 10 Jun 2025 06:00:00 GMT", datetime(2025, 6, 10, 6, tzinfo=UTC)),
        ("Tue, 10 Jun 2025 06:00:00 -0530", datetime(2025, 6, 10, 11, 30, tzinfo=UTC)),
        ("10 Jun 2025 06:00 EST", datetime(2025, 6, 10, 11, tzinfo=UTC)),
        ("2025-06-10T06:00:00.25Z", datetime(2025, 6, 10, 6, tzinfo=UTC)),
        ("2025-06-10", datetime(2025, 6, 10, tzinfo=UTC)),
        ("Tue, 31 Feb 2025 06:00:00 GMT", None),
        ("Friday, January 29, 2021 04:42 PM", None),  # the email module would read 04:42
        ("Tue, 10 Jun 2025 06:00:00", None),  # no zone: no date, as feedparser has it
        ("not a date", None),
        ("", None),
    ],
)
def test_dates(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_deeply_nested_xhtml_is_left_to_feedparser() -> None:
    nested = "<div>" * 5_000 + "deep" + "</div>" * 5_000
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>https://e.org/1</id><title>t</title>'
        f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{nested}</div></content></entry></feed>'
    ).encode()
    assert parse_fast(body, SOURCE, FETCHED) is None
    assert [item.title for item in parse_feed(body, SOURCE, FETCHED).items] == ["t"]


def test_damaged_documents_give_items_or_a_clear_error() -> None:
    original = rss(
        "".join(
            f"<item><guid>g{n}</guid><title>T&amp;{n}</title><link>/a/{n}</link><description>&lt;p&gt;d{n}"
            f"&lt;/p&gt;</description><pubDate>Tue, 10 Jun 2025 0{n}:00:00 GMT</pubDate></item>"
            for n in range(5)
        )
    )
    # Found this way: a damaged encoding name in the XML declaration made feedparser itself raise
    # UnicodeDecodeError, which the poller did not expect.
    generator = random.Random(20251125)
    for _ in range(300):
        damaged = bytearray(original)
        for _ in range(generator.randint(1, 8)):
            damaged[generator.randrange(len(damaged))] = generator.choice(b"<>&;\"'/ \x00\xff\xe9x")
        try:
            parsed = parse_feed(bytes(damaged), SOURCE, FETCHED)
        except ParseError as exc:
            assert 'feed "wire"' in str(exc)
            continue
        assert all(item.published is not None and item.published.tzinfo is not None for item in parsed.items)
