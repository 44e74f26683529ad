"""The redaction every sink shares: URL forms, the secret parts of configured URLs, the command-line stream."""

from __future__ import annotations

import io

from tocsin import redaction
from tocsin.cli.redacted import RedactingStream
from tocsin.urls import redact_url, url_secrets


def test_redact_url_masks_secret_query_values_and_keeps_the_rest_as_written() -> None:
    assert redact_url("https://u:pw@example.org:8443/a%20b?token=t1&page=2&X-Amz-Signature=s&author=jo") == \
        "https://example.org:8443/a%20b?token=***&page=2&X-Amz-Signature=***&author=jo"
    assert redact_url("https://example.org/feed?keyword=war") == "https://example.org/feed?keyword=war"
    assert redact_url("http://[::1/broken") == "***"


def test_secret_parts_of_a_configured_url() -> None:
    parts = url_secrets("https://alice:s3cr%40t@x.example/services/T0001/B0002/abcdefGHIJ1234567890?sig=Q1w2e3&p=1")
    assert {"s3cr%40t", "s3cr@t", "alice:s3cr%40t", "YWxpY2U6czNjckB0", "Q1w2e3", "abcdefGHIJ1234567890"} \
        <= set(parts)
    # Names and ids are not capabilities: masking them would mask ordinary text.
    assert not {"services", "T0001", "B0002", "1"} & set(parts)


def test_learned_secret_is_masked_in_free_text_and_in_urls() -> None:
    redaction.learn(["learned-7c1e9a"])
    text = redaction.redact("POST https://h.example/x?key=k9 failed: learned-7c1e9a rejected; password=hunter22")
    assert text == "POST https://h.example/x?key=*** failed: *** rejected; password=***"


def test_stream_masks_a_secret_written_in_pieces() -> None:
    redaction.learn(["piecewise-4d2b8f"])
    target = io.StringIO()
    stream = RedactingStream(target)
    for piece in ('{"last_error": "piece', 'wise-4d2b', '8f"}\n', "tail piecewise-4d2b8f"):
        stream.write(piece)
    assert target.getvalue() == '{"last_error": "***"}\n'
    stream.flush()
    assert target.getvalue() == '{"last_error": "***"}\ntail ***'
