"""A real HTTP feed server on 127.0.0.1 (ephemeral port) with the misbehaviours feeds show in the wild.

Routes:
  /feed/<name>        a mutable RSS feed (tests add items); ETag + Last-Modified, answers 304 to either validator
  /lastmod/<name>     the same feed with Last-Modified only
  /plain/<name>       the same feed without any validator (only the body hash can tell it is unchanged)
  /gzip/<name>        the same feed, gzip-encoded
  /jsonfeed/<name>    the same feed as a JSON Feed 1.1 (application/feed+json), with ETag and Last-Modified
  /redirect/<name>    302 to /feed/<name>
  /moved/<name>       301 to /feed/<name>
  /status/<code>      that status; /status/429 and /status/503 send Retry-After: 120
  /slow               waits longer than any test's read timeout before answering
  /big                a body of `big_size` bytes, streamed
  /gzip-bomb          a small gzip body that inflates past any test cap
  /loop               a redirect loop (/loop -> /loop2 -> /loop)
  /html               an HTML page
  /json               a JSON document
  /empty              an empty 200
  /bomb               the quadratic entity bomb (one large entity referenced many times)
  /bomb-utf16         the same, UTF-16 encoded
  /file/<name>        a file from `files_dir`
Every request's headers are recorded in `requests` as (path, headers). Asked as an HTTP proxy, it serves the same
routes for any host and records the absolute URLs in `proxied`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass
class FeedItem:
    guid: str
    title: str
    link: str
    description: str = ""
    pub_date: str = ""


@dataclass
class MutableFeed:
    title: str
    items: list[FeedItem] = field(default_factory=list)
    modified: float = 1_700_000_000.0

    def render(self) -> bytes:
        entries = "".join(
            f"<item><guid>{escape(item.guid)}</guid><title>{escape(item.title)}</title>"
            f"<link>{escape(item.link)}</link><description>{escape(item.description)}</description>"
            + (f"<pubDate>{item.pub_date}</pubDate>" if item.pub_date else "")
            + "</item>"
            for item in self.items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape(self.title)}</title><link>http://example.org/</link><language>en</language>"
            f"{entries}</channel></rss>"
        ).encode()


    def render_json(self) -> bytes:
        """The same feed as a JSON Feed 1.1: the description as content_html, the date in RFC 3339."""
        items = [
            {"id": item.guid, "url": item.link, "title": item.title, "content_html": item.description,
             **({"date_published": parsedate_to_datetime(item.pub_date).isoformat()} if item.pub_date else {})}
            for item in self.items
        ]
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": self.title,
                           "home_page_url": "http://example.org/", "language": "en", "items": items}).encode()


def quadratic_bomb(entity_kib: int = 50, references: int = 2000) -> str:
    entity = "A" * (entity_kib * 1024)
    refs = "&big;" * references
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{entity}">\n]>\n'
        f'<rss version="2.0"><channel><title>bomb</title><item><title>x</title><description>{refs}</description>'
        "</item></channel></rss>"
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early (a size cap, a timeout) are expected here, not errors."""


class FeedServer:
    def __init__(self, files_dir: Path | None = None, host: str = "127.0.0.1") -> None:
        self.feeds: dict[str, MutableFeed] = {}
        self.files_dir = files_dir
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.request_times: list[tuple[str, float]] = []
        """(path, time.monotonic()) of every request, in arrival order."""
        self.proxied: list[str] = []
        self.big_size = 2 * 1024 * 1024
        self.slow_seconds = 3.0
        self.slow_in_flight = 0
        self.slow_max_in_flight = 0
        self.lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = _QuietServer((host, 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="feed-server", daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def add_feed(self, name: str, count: int = 0) -> MutableFeed:
        feed = MutableFeed(title=f"Feed {name}")
        self.feeds[name] = feed
        self.add_items(name, count)
        return feed

    def add_items(self, name: str, count: int, prefix: str = "item") -> list[FeedItem]:
        with self.lock:
            feed = self.feeds[name]
            start = len(feed.items)
            added = [
                FeedItem(
                    guid=f"{name}-{prefix}-{start + index}", title=f"{name} {prefix} {start + index}",
                    link=f"/articles/{name}/{prefix}-{start + index}?utm_source=rss",
                    description=f"<p>Story <b>{start + index}</b> &amp; more</p>",
                    pub_date=formatdate(time.time() - 3600, usegmt=True),
                )
                for index in range(count)
            ]
            feed.items.extend(added)
            feed.modified += 60
        return added

    def requests_to(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for seen, headers in self.requests if seen == path]

    def wait_released(self, seconds: float) -> None:
        self._release.wait(seconds)


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: tests read `server.requests` instead."""

        def do_GET(self) -> None:
            if self.path.startswith("http://"):
                # Asked as a proxy (absolute-form request target): serve it as if it were ours, and note it.
                with server.lock:
                    server.proxied.append(self.path)
                self.path = "/" + self.path.split("/", 3)[3]
            with server.lock:
                server.requests.append((self.path, {key.lower(): value for key, value in self.headers.items()}))
                server.request_times.append((self.path, time.monotonic()))
            for route, handle in ROUTES.items():
                if self.path == route or (route.endswith("/") and self.path.startswith(route)):
                    handle(self, self.path.removeprefix(route))
                    return
            self.send_body(404, b"not found", "text/plain")

        def send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
                      ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def feed(self, name: str, *, etag: bool = True, last_modified: bool = True, encoding: str | None = None,
                 json_feed: bool = False) -> None:
            feed = server.feeds.get(name)
            if feed is None:
                self.send_body(404, b"no such feed", "text/plain")
                return
            with server.lock:
                body = feed.render_json() if json_feed else feed.render()
                modified = formatdate(feed.modified, usegmt=True)
            tag = '"' + hashlib.sha1(body).hexdigest() + '"'
            headers = {"Last-Modified": modified} if last_modified else {}
            if etag:
                headers["ETag"] = tag
            if (etag and self.headers.get("If-None-Match") == tag) or (
                last_modified and self.headers.get("If-Modified-Since") == modified
            ):
                self.send_response(304)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                return
            if encoding == "gzip":
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            content_type = "application/feed+json" if json_feed else "application/rss+xml; charset=utf-8"
            self.send_body(200, body, content_type, headers)

        def status(self, code: str) -> None:
            headers = {"Retry-After": "120"} if code in ("429", "503") else {}
            self.send_body(int(code), f"status {code}".encode(), "text/plain", headers)

        def slow(self, _: str) -> None:
            with server.lock:
                server.slow_in_flight += 1
                server.slow_max_in_flight = max(server.slow_max_in_flight, server.slow_in_flight)
            server.wait_released(server.slow_seconds)
            with server.lock:
                server.slow_in_flight -= 1
            self.send_body(200, b"<rss version='2.0'><channel><title>late</title></channel></rss>", "text/xml")

        def big(self, _: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"<!-- " + b"x" * 65_000 + b" -->"
            try:
                for _ in range(server.big_size // len(chunk) + 1):
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its cap, as it should

        def gzip_bomb(self, _: str) -> None:
            body = gzip.compress(b"<rss>" + b" " * (server.big_size * 4) + b"</rss>")
            self.send_body(200, body, "application/rss+xml", {"Content-Encoding": "gzip"})

        def redirect(self, target: str, status: int = 302) -> None:
            self.send_response(status)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def accented(self, name: str) -> None:
            """The feed with validators no request can carry back (sent as Latin-1 bytes, as some servers do)."""
            with server.lock:
                body = server.feeds[name].render()
            self.send_body(200, body, "application/rss+xml",
                           {"ETag": '"caf\u00e9"', "Last-Modified": "Mer, 02 D\u00e9c 2026 07:00:00 GMT"})

        def file(self, name: str) -> None:
            path = (server.files_dir or Path("/nonexistent")) / name
            if not path.is_file():
                self.send_body(404, b"no such file", "text/plain")
                return
            self.send_body(200, path.read_bytes(), "application/xml")

    html = b"<!DOCTYPE html><html><head><title>News</title></head><body><p>Welcome</p></body></html>"
    ROUTES = {
        "/feed/": lambda h, rest: h.feed(rest),
        "/lastmod/": lambda h, rest: h.feed(rest, etag=False),
        "/plain/": lambda h, rest: h.feed(rest, etag=False, last_modified=False),
        "/gzip/": lambda h, rest: h.feed(rest, encoding="gzip"),
        "/jsonfeed/": lambda h, rest: h.feed(rest, json_feed=True),
        "/redirect/": lambda h, rest: h.redirect(f"/feed/{rest}"),
        "/moved/": lambda h, rest: h.redirect(f"/feed/{rest}", 301),
        "/to/": lambda h, rest: h.redirect(rest),
        "/status/": lambda h, rest: h.status(rest),
        "/accented/": lambda h, rest: h.accented(rest),
        "/slow": lambda h, rest: h.slow(rest),
        "/big": lambda h, rest: h.big(rest),
        "/gzip-bomb": lambda h, rest: h.gzip_bomb(rest),
        "/loop": lambda h, rest: h.redirect("/loop2"),
        "/loop2": lambda h, rest: h.redirect("/loop"),
        "/html": lambda h, rest: h.send_body(200, html, "text/html"),
        "/json": lambda h, rest: h.send_body(200, b'{"items": []}', "application/json"),
        "/empty": lambda h, rest: h.send_body(200, b"", "application/rss+xml"),
        "/bomb": lambda h, rest: h.send_body(200, quadratic_bomb().encode(), "application/rss+xml"),
        "/bomb-utf16": lambda h, rest: h.send_body(200, quadratic_bomb().encode("utf-16"), "application/rss+xml"),
        "/file/": lambda h, rest: h.file(rest),
    }
    return Handler


def running_server(files_dir: Path | None = None) -> Iterator[FeedServer]:
    """For a pytest fixture: `yield from running_server()`."""
    server = FeedServer(files_dir).start()
    try:
        yield server
    finally:
        server.close()
