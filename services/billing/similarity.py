"""P-REPEAT's measure of "the same question": trigram similarity of two texts, and the
locality-sensitive bands through which the candidates are found (docs/decisions.md,
"P-REPEAT at scale"). Pure functions; no I/O.

The trigrams are pg_trgm's: the text lower-cased, split into words of letters and digits, each
word padded with two spaces before and one after, every three consecutive characters of a padded
word one trigram; the similarity of two texts is the number of trigrams they share over the
number in either (Jaccard). It equals PostgreSQL's `similarity()` on a database whose locale
knows Slovenian letters, so the threshold keeps its meaning; under the C locale pg_trgm takes
č, š and ž for separators, and this module does not.

The bands are a MinHash signature in one pass (one hash per trigram, spread over `BINS` bins,
the smallest per bin; an empty bin takes its next non-empty neighbour's, offset by the
distance), cut into `BANDS` pairs of bins, each pair hashed to one number. Two texts of
similarity s share a band with probability about s², so at least one of `BANDS` bands with
1 - (1 - s²)^BANDS: 0.96 at the threshold 0.35, 0.99 at 0.4, above 0.999 from 0.5 (measured
on the benchmark's texts: 0.97, 0.99, 1.0). Texts that share no band are never compared.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from functools import lru_cache

BINS = 48
BANDS = BINS // 2
_WORD = re.compile(r"[^\W_]+")
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_HASH_MASK = (1 << 48) - 1


@lru_cache(maxsize=1024)
def trigrams(text: str) -> frozenset[str]:
    """The text's set of trigrams, as pg_trgm makes them (the last texts' sets are kept: a
    ticket's text is read when it is remembered and again when it is looked up, and the same
    recent candidates answer many lookups)."""
    return frozenset().union(*(_word(word)[0] for word in _WORD.findall(text.lower())))


@lru_cache(maxsize=8192)
def _word(word: str) -> tuple[frozenset[str], frozenset[int]]:
    """A word's trigrams and their hashes (kept for the last words: the words of support
    questions repeat, and a word's trigrams were most of the cost of a text's)."""
    padded = f"  {word} "
    grams = frozenset([padded[i : i + 3] for i in range(len(padded) - 2)])
    return grams, frozenset([_hash(gram) for gram in grams])


def _hash(gram: str) -> int:
    return (zlib.crc32(gram.encode()) * _GOLDEN) & _HASH_MASK


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared trigrams over all trigrams of either text (pg_trgm's `similarity()`)."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def bands(grams: Iterable[str]) -> list[int]:
    """The text's `BANDS` band values (signed 64-bit, stable across processes and versions of
    Python); none for a text without trigrams."""
    return _bands({_hash(gram) for gram in grams})


def _bands(hashes: set[int] | frozenset[int]) -> list[int]:
    if not hashes:
        return []
    # the last, smallest, value of each bin
    lowest = {value % BINS: value for value in sorted(hashes, reverse=True)}
    signature = []
    for slot in range(BINS):
        nearest = slot
        while nearest % BINS not in lowest:
            nearest += 1
        signature.append(lowest[nearest % BINS] + (nearest - slot) * _GOLDEN)
    values = []
    for band in range(BANDS):
        value = ((signature[2 * band] * _GOLDEN + signature[2 * band + 1]) * _GOLDEN + band) & _MASK
        value ^= value >> 31
        values.append(value - (1 << 64) if value >= 1 << 63 else value)
    return values


@lru_cache(maxsize=1024)
def text_bands(text: str) -> tuple[int, ...]:
    """`bands` of the text's trigrams (kept for the last texts, like `trigrams`)."""
    words = _WORD.findall(text.lower())
    return tuple(_bands(frozenset().union(*(_word(word)[1] for word in words))))
