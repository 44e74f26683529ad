"""Content-Encoding of a feed body: gzip and deflate decoded with zlib, never past a size cap.

Written by hand over zlib rather than with httpx's decoders (private API) because the feed fetcher no longer
goes through httpx's response model; each chunk is inflated at most up to what the cap still allows, so a gzip
bomb costs at most the cap in memory and the CPU to reach it.
"""

from __future__ import annotations

import zlib

ACCEPT_ENCODING = "gzip, deflate"
"""What the fetcher asks for: the encodings decoded here."""


class BodyTooLarge(Exception):
    """The decoded body grew past the cap."""


class CorruptBody(Exception):
    """The compressed body cannot be decoded."""


class BodyDecoder:
    """Feed the body's bytes in as they arrive (`feed`), then `finish`; both return decoded bytes and raise
    BodyTooLarge once more than `cap` decoded bytes came out in all, CorruptBody for a broken stream."""

    def __init__(self, content_encoding: str | None, cap: int) -> None:
        self._cap = cap
        self._size = 0
        self._steps: list[zlib._Decompress] = []
        self._probing: set[int] = set()
        """Deflate steps that saw no byte yet: zlib-wrapped by the standard, raw from some servers."""
        # Encodings are listed in the order they were applied; decoding undoes them last first. Unknown ones are
        # passed through as httpx did (a server naming one it made up usually sent plain bytes).
        for name in reversed([part.strip().lower() for part in (content_encoding or "").split(",")]):
            if name in ("gzip", "x-gzip"):
                self._steps.append(zlib.decompressobj(zlib.MAX_WBITS | 16))
            elif name == "deflate":
                self._probing.add(len(self._steps))
                self._steps.append(zlib.decompressobj())

    def feed(self, data: bytes) -> bytes:
        for index in range(len(self._steps)):
            if data:
                data = self._inflate(index, data)
        return self._counted(data)

    def finish(self) -> bytes:
        data = b""
        for step in self._steps:
            try:
                data = (step.decompress(data, self._room()) if data else b"") + step.flush()
            except zlib.error as exc:
                raise CorruptBody(str(exc)) from None
        return self._counted(data)

    def _inflate(self, index: int, data: bytes) -> bytes:
        step = self._steps[index]
        try:
            out = step.decompress(data, self._room())
        except zlib.error as exc:
            if index not in self._probing:
                raise CorruptBody(str(exc)) from None
            self._probing.discard(index)
            self._steps[index] = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inflate(index, data)
        self._probing.discard(index)
        if step.unconsumed_tail:
            raise BodyTooLarge
        return out

    def _room(self) -> int:
        """Decoded bytes one more call may return: one past the cap, so that passing it is seen."""
        return max(self._cap - self._size, 0) + 1

    def _counted(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._size > self._cap:
            raise BodyTooLarge
        return data
