"""A product description from a catalogue's HTML: sanitised by nh3 (the Rust ammonia
sanitiser), then read as plain text with its paragraphs and list items on lines of their own.

The shop stores and shows descriptions as text (escaped in every template), and the text model
and the search read them; no imported markup ever reaches a page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# Tags whose end starts a new line of text; every other tag is dropped, its text kept.
BLOCK_TAGS = {"p", "br", "li", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "ul", "ol"}


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """The text of ``html``: scripts, styles and their content gone, tags dropped, entities
    decoded, one line per paragraph or list item."""
    parser = _TextParser()
    # nh3 removes <script>, <style> and the like with what they hold; the parser needs no trust.
    parser.feed(nh3.clean(html, tags=BLOCK_TAGS, attributes={}))
    parser.close()
    lines = (re.sub(r"\s+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)
