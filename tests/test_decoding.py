"""Decoding feed bodies: gzip and deflate (zlib-wrapped and raw), corrupt streams, and the cap on decoded bytes."""

from __future__ import annotations

import gzip
import zlib

import pytest

from tocsin.fetch.decoding import BodyDecoder, BodyTooLarge, CorruptBody

BODY = b"<rss><channel>" + b"<item><title>troops massing</title></item>" * 2000 + b"</channel></rss>"


def decoded(encoding: str | None, data: bytes, cap: int, chunk: int = 997) -> bytes:
    decoder = BodyDecoder(encoding, cap)
    parts = [decoder.feed(data[start:start + chunk]) for start in range(0, len(data), chunk)]
    return b"".join(parts) + decoder.finish()


@pytest.mark.parametrize(("encoding", "data"), [
    ("gzip", gzip.compress(BODY)),
    ("x-gzip", gzip.compress(BODY)),
    ("deflate", zlib.compress(BODY)),
    ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some servers send it
    ("gzip, deflate", zlib.compress(gzip.compress(BODY))),
    (None, BODY),
    ("identity", BODY),
    ("made-up", BODY),
])
def test_encodings_decode_to_the_body(encoding: str | None, data: bytes) -> None:
    assert decoded(encoding, data, cap=len(BODY)) == BODY


@pytest.mark.parametrize("encoding", ["gzip", "deflate", None])
def test_a_body_past_the_cap_stops_within_one_chunk(encoding: str | None) -> None:
    data = {"gzip": gzip.compress, "deflate": zlib.compress, None: bytes}[encoding](BODY)
    with pytest.raises(BodyTooLarge):
        decoded(encoding, data, cap=len(BODY) - 1)


def test_a_gzip_bomb_never_inflates_past_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in about 64 KB
    decoder = BodyDecoder("gzip", cap=1 << 20)
    out = 0
    with pytest.raises(BodyTooLarge):
        for start in range(0, len(bomb), 65536):
            out += len(decoder.feed(bomb[start:start + 65536]))
    assert out <= 1 << 20


def test_a_corrupt_stream_is_named() -> None:
    with pytest.raises(CorruptBody, match="incorrect header check"):
        decoded("gzip", b"this is not gzip at all", cap=1 << 20)
