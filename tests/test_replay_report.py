"""`tocsin replay --report`: a self-contained HTML page, loaded in real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tocsin.cli import main

SCENARIO = Path(__file__).resolve().parent / "scenario"
HOSTILE_TITLE = 'Helicopter shot down over Idlib <script>document.title="owned"</script><img src=x onerror=alert(1)>'
HOSTILE = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile &lt;b&gt;Wire&lt;/b&gt;</title><link>https://hostile.example/</link>
<item><title>{HOSTILE_TITLE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}</title>
<link>javascript:alert(2)</link><guid>hostile-1</guid><pubDate>Sat, 29 Feb 2020 12:00:00 GMT</pubDate>
<description>Rebels shot down a Syrian army helicopter over Idlib.</description></item>
</channel></rss>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run does)")


def report(tmp_path: Path) -> Path:
    snapshots = tmp_path / "snapshots"
    shutil.copytree(SCENARIO / "snapshots", snapshots)
    (snapshots / "22-hostile.xml").write_text(HOSTILE, encoding="utf-8")
    page = tmp_path / "report.html"
    assert main(["replay", "--config", str(SCENARIO / "tocsin.toml"), "--report", str(page), str(snapshots)]) == 0
    return page


def test_the_report_is_one_self_contained_page_with_feed_text_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = report(tmp_path).read_text(encoding="utf-8")
    capsys.readouterr()
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;document.title" in text
    assert "javascript:" not in text, "a link that is not http(s) is shown, not linked"
    assert not re.search(r'(?:src|href)="(?!#|https?://)', text), "nothing is loaded from beside the page"
    assert "Content-Security-Policy" in text
    assert text.count('<section class="situation"') >= 1


def test_chromium_renders_a_plot_per_situation_with_its_alerts_marked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    browser = chromium()
    page = report(tmp_path)
    capsys.readouterr()
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    sections = re.findall(r'<section class="situation" id="situation-(\d+)"><h2>([^<]*)</h2>(.*?)</section>',
                          dom, re.S)
    assert sections and sections[0][1] == "theatre:Syria"
    for index, _, body in sections:
        assert body.count("<svg") == 1, "one inline plot per situation"
        assert f'id="score-{index}"' in body and f'id="level-{index}"' in body
    idlib = sections[0][2]
    # The scenario raises Syria three times (buildup and ultimatum; repeated shootdown; strikes after the ultimatum
    # expired): three markers, three rows.
    marks = re.search(r'<g id="alerts-0-escalation">(.*?)</g>\s*</g>', idlib, re.S)
    assert marks is not None and marks.group(1).count("<use") == 3
    assert idlib.count('<tr class="escalation">') == 3
    assert "<script" not in dom, "the hostile title stayed text"
    assert "document.title=\"owned\"" in dom.replace("&quot;", '"')
