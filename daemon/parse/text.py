"""HTML from feeds -> plain text: tags dropped (with what scripts and styles hold), entities decoded, whitespace
collapsed.

Regular expressions instead of html.parser: the output is only ever text (never markup), so a tag that is read
slightly differently from a browser can lose or keep a word, never inject anything. Each pattern is linear.
"""

from __future__ import annotations

import html
import re

HIDDEN_ELEMENTS = frozenset({"script", "style", "template", "noscript"})
"""Elements whose content never reads as text."""
BREAKING_ELEMENTS = frozenset(
    {"p", "br", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
)
"""Elements that separate words: "<p>one</p><p>two</p>" reads "one two", not "onetwo"."""

# An unclosed hidden element swallows the rest, as in a browser.
_HIDDEN = re.compile(
    rf"<({'|'.join(HIDDEN_ELEMENTS)})\b[^>]*(?:>|\Z).*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.IGNORECASE | re.DOTALL
)
# Start and end tags (quoted attribute values may hold '>'), declarations and processing instructions; the breaking
# elements become a space, the rest nothing. A '<' not followed by a letter, '/', '!' or '?' is text ("a < b"), as
# html.parser reads it. Every pattern also ends at the end of the text (an unclosed tag or quote): a pattern that
# could fail after scanning the rest would make "<a <a <a ..." quadratic.
_ATTRIBUTES = r"""(?:[^>"']|"[^"]*(?:"|\Z)|'[^']*(?:'|\Z))*(?:>|\Z)"""
_BREAKING_TAG = re.compile(rf"</?(?:{'|'.join(BREAKING_ELEMENTS)})(?=[\s/>])" + _ATTRIBUTES, re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^\s/>]*" + _ATTRIBUTES + r"|<[!?][^>]*(?:>|\Z)")


def collapse(text: str, limit: int) -> str:
    """Whitespace runs as one space, no leading or trailing space, at most `limit` characters."""
    return " ".join(text.split())[:limit]  # str.split() knows the same whitespace as \s, and is faster


def plain_text(markup: str, limit: int) -> str:
    """HTML stripped, entities decoded, whitespace collapsed, at most `limit` characters."""
    if "<" in markup or "&" in markup:
        # Bound the work on hostile input: more than 4x the limit can never survive the cut anyway.
        markup = markup[: limit * 4]
        if "<" in markup:
            markup = _TAG.sub("", _BREAKING_TAG.sub(" ", _HIDDEN.sub("", markup)))
        markup = html.unescape(markup)
    return collapse(markup, limit)

