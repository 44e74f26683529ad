"""OPML: `tocsin feeds import` reads a feed reader's subscription list into a configuration (its comments kept) or
prints it; `tocsin feeds export` writes one; hostile OPML is refused like a hostile feed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tocsin.config import load_config
from tocsin.errors import ParseError
from tocsin.parse.opml import MAX_OPML_BYTES, Subscription, read_opml, write_opml

DESK = Path(__file__).parent / "data" / "desk-subscriptions.opml"
CONFIG = """\
# Desk configuration: comments must survive an import.
state_dir = "{state}"

[polling]
interval = "5m"  # the desk wants it fast

[[feeds]]
# the wire we already poll
name = "bbc-world"
url = "https://feeds.bbci.co.uk/news/world/rss.xml"
tags = ["world"]

[delivery]
# console only for now
"""


def tocsin(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_nested_folders_and_categories_become_categories_in_document_order() -> None:
    listed = read_opml(DESK.read_bytes(), str(DESK))
    assert [(s.title, s.categories) for s in listed] == [
        ("BBC News - World", ("World news",)),
        ("Al Jazeera – All", ("World news",)),
        ("Le Monde — Proche-Orient", ("World news", "Middle East", "fr", "Wire", "AFP")),
        ("الجزيرة نت", ("World news", "Middle East")),
        ("ReliefWeb - Updates", ("Humanitarian",)),
        ("UNHCR news & stories", ("Humanitarian",)),
        ("BBC News - World", ("Humanitarian",)),
        ("BBC News - World (Arabic desk copy)", ()),
        ("Security briefing podcast", ()),
    ], "the note outline is no feed; title wins over text"
    assert listed[0].html_url == "https://www.bbc.co.uk/news/world"


@pytest.mark.parametrize(("body", "message"), [
    (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
     b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>',
     "refused: the document declares a DTD internal subset or entities"),
    (b"<opml><body><outline text='a' xmlUrl='https://x.example/'></body></opml>", "list.opml:1:"),
    (b"<rss version='2.0'><channel/></rss>", "not OPML: the root element is <rss>"),
    (b"<opml version='2.0'><head/></opml>", "no <body> element"),
    (b" " * (MAX_OPML_BYTES + 1), "larger than an OPML subscription list"),
])
def test_hostile_or_wrong_documents_are_named_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=r"^list\.opml") as raised:
        read_opml(body, "list.opml")
    assert message in str(raised.value)


def test_import_keeps_the_configuration_as_written_and_export_round_trips(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text(CONFIG.format(state=tmp_path / "state"), encoding="utf-8")
    config.chmod(0o640)
    done = tocsin("feeds", "import", DESK, "--config", config)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"6 feed(s) added to {config}; 2 already polled or listed twice; 1 not http(s), left out",
        "  left out: feed://podcasts.example.org/briefing.xml",
    ]
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG.format(state=tmp_path / "state").split("[delivery]")[0]), "all before kept"
    assert text.endswith("\n[delivery]\n# console only for now\n"), "what followed the feeds stays after them"
    assert "# Le Monde — Proche-Orient (from desk-subscriptions.opml)\n" in text
    assert config.stat().st_mode & 0o777 == 0o640
    feeds = {feed.name: (feed.url, feed.tags) for feed in load_config(config).feeds}
    assert feeds == {
        "bbc-world": ("https://feeds.bbci.co.uk/news/world/rss.xml", ("world",)),
        "al-jazeera-all": ("https://www.aljazeera.com/xml/rss/all.xml", ("world-news",)),
        "le-monde-proche-orient": ("https://www.lemonde.fr/proche-orient/rss_full.xml",
                                   ("world-news", "middle-east", "fr", "wire", "afp")),
        "aljazeera-net": (read_opml(DESK.read_bytes(), "x")[3].url, ("world-news", "middle-east")),
        "reliefweb-updates": ("https://reliefweb.int/updates/rss.xml", ("humanitarian",)),
        "unhcr-news-stories": ("https://www.unhcr.org/rss/news.xml", ("humanitarian",)),
        "bbc-news-world-arabic-desk-copy": ("https://feeds.bbci.co.uk/arabic/rss.xml", ()),
    }
    again = tocsin("feeds", "import", DESK, "--config", config)
    assert again.returncode == 0 and again.stderr.startswith("0 feed(s) added"), "an import twice adds nothing"

    exported = tmp_path / "exported.opml"
    assert tocsin("feeds", "export", "--config", config, "--output", exported).returncode == 0
    assert {s.title: (s.url, tuple(s.categories)) for s in read_opml(exported.read_bytes(), "x")} == feeds
    # The export read by another tocsin gives the same feeds, names included.
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(f'state_dir = "{tmp_path / "other"}"\n', encoding="utf-8")
    assert tocsin("feeds", "import", exported, "--config", elsewhere).returncode == 0
    assert {feed.name: (feed.url, feed.tags) for feed in load_config(elsewhere).feeds} == feeds


def test_without_a_config_the_entries_are_printed(tmp_path: Path) -> None:
    done = tocsin("feeds", "import", DESK)
    assert done.returncode == 0, done.stderr
    printed = tomllib.loads(done.stdout)["feeds"]
    assert [feed["name"] for feed in printed][:3] == ["bbc-news-world", "al-jazeera-all", "le-monde-proche-orient"]
    assert len(printed) == 7 and done.stderr.startswith("7 feed(s) added; 1 already polled or listed twice")


def test_an_invalid_configuration_is_left_as_it_was(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.toml"
    broken = 'state_dir = "/tmp/x"\n[polling]\nintervall = "5m"\n'
    config.write_text(broken, encoding="utf-8")
    done = tocsin("feeds", "import", DESK, "--config", config)
    assert done.returncode == 78 and 'polling.intervall: unknown key (did you mean "interval"?)' in done.stderr
    assert config.read_text(encoding="utf-8") == broken
    assert list(tmp_path.iterdir()) == [config], "no temporary file left behind"


def test_export_masks_secret_looking_urls_on_stdout_but_writes_them_whole_to_a_private_file(tmp_path: Path) -> None:
    token_url = "https://news.example/feed.xml?token=s3cr3t-0123456789"
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n[[feeds]]\nname = "private"\nurl = "{token_url}"\n',
                      encoding="utf-8")
    shown = tocsin("feeds", "export", "--config", config)
    assert "s3cr3t" not in shown.stdout and "1 feed URL(s) hold secret-looking parts" in shown.stderr
    written = tmp_path / "feeds.opml"
    assert tocsin("feeds", "export", "--config", config, "-o", written).returncode == 0
    assert [s.url for s in read_opml(written.read_bytes(), "x")] == [token_url]
    assert written.stat().st_mode & 0o777 == 0o600


def test_write_opml_escapes_what_it_writes() -> None:
    listed = [Subscription('Fish & "chips" <news>', "https://x.example/?a=1&b=2", ("a", "b/c"))]
    written = write_opml(listed, "t", datetime(2026, 3, 2, tzinfo=UTC))
    assert read_opml(written, "x") == [Subscription('Fish & "chips" <news>', "https://x.example/?a=1&b=2",
                                                     ("a", "b", "c"))]
