"""How text search reads what a shopper typed: the word forms it also tries, and the
catalogue's nearest word for one it does not know. Plain Python, no database.

Products are found through a search document that the database keeps per product
(migrations 0006 and 0007): title, category path, description and attributes, each text
followed by its adjacent words joined ("Sports Shoes" also gives "sportsshoes", "T-Shirt"
gives "tshirt"). A query meets it by the same joining: "t-shirt" and "t shirt" are searched
as "tshirt", and "sun glasses" also as "sunglasses".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A word, a hyphen, a word: "t-shirt", "flip-flops" (not "-word", which excludes it).
HYPHENATED = re.compile(r"(?<=\w)-(?=\w)")
# A lone letter before a word, as in "t shirt", "v neck" ("a" and "i" are words of their own).
LONE_LETTER = re.compile(r"\b([b-hj-z])\s+(?=\w)", re.IGNORECASE)
PLAIN_WORDS = re.compile(r"[^\W_]+(?:\s+[^\W_]+)*")
WORD = re.compile(r"[^\W\d_]+")
MAX_JOINED_WORDS = 6  # a query longer than this is not tried with its word pairs joined

# pg_trgm's default similarity threshold: the share of trigrams two words have in common.
SIMILARITY_THRESHOLD = 0.3
MIN_CORRECTED_LENGTH = 3
# Each unknown word scans the whole vocabulary: a query of many unknown words (noise, or a
# request made to cost CPU) is searched as typed.
MAX_CORRECTED_WORDS = 4


def query_normalise(query: str) -> str:
    """``query`` with hyphenated words and a lone letter joined to the next word."""
    return LONE_LETTER.sub(r"\1", HYPHENATED.sub("", query.strip()))


def query_alternatives(query: str) -> list[str]:
    """The normalised query, then (for plain words only: no quotes, ``or``, ``-word``) each
    form with one pair of neighbouring words joined: "sun glasses" -> "sunglasses"."""
    normalised = query_normalise(query)
    alternatives = [normalised]
    if not PLAIN_WORDS.fullmatch(normalised):
        return alternatives
    words = normalised.split()
    if len(words) < 2 or len(words) > MAX_JOINED_WORDS or "or" in (w.lower() for w in words):
        return alternatives
    for i in range(len(words) - 1):
        alternatives.append(" ".join([*words[:i], words[i] + words[i + 1], *words[i + 2 :]]))
    return alternatives


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: lower case, two spaces before and one after."""
    padded = f"  {word.lower()} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity``: trigrams in common over trigrams in either word."""
    first, second = trigrams(a), trigrams(b)
    return len(first & second) / len(first | second)


def word_nearest(word: str, vocabulary: Mapping[str, int]) -> str | None:
    """The vocabulary word most like ``word`` (the one in most products on a tie), if any
    reaches the similarity threshold. ``vocabulary`` maps lower-case words to product counts."""
    best, best_key = None, (SIMILARITY_THRESHOLD, 0)
    wanted = trigrams(word)
    for candidate, count in vocabulary.items():
        if abs(len(candidate) - len(word)) > 3:
            continue
        found = trigrams(candidate)
        key = (len(wanted & found) / len(wanted | found), count)
        if key >= best_key:
            best, best_key = candidate, key
    return best


def query_correct(query: str, vocabulary: Mapping[str, int]) -> str:
    """``query`` with each word that the vocabulary lacks replaced by its nearest word there
    (words that have none stay as typed): "blak jeens" -> "black jeans"."""

    normalised = query_normalise(query)
    unknown = {
        word.lower()
        for word in WORD.findall(normalised)
        if len(word) >= MIN_CORRECTED_LENGTH and word.lower() not in vocabulary
    }
    if len(unknown) > MAX_CORRECTED_WORDS:  # not a misspelt search: not worth the scans
        return normalised
    nearest = {word: word_nearest(word, vocabulary) for word in unknown}

    def correct(match: re.Match) -> str:
        return nearest.get(match.group().lower()) or match.group()

    return WORD.sub(correct, normalised)
